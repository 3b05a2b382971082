//! zsmalloc (under construction).
#![no_std]
