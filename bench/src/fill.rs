//! Storing a workload in an allocator, checking it, freeing it.
//!
//! ```text
//!   store_all:  for each object, in workload order:  id = malloc(len); write(id, bytes)
//!   verify:     for each (object, id):               read(id) == bytes ?
//!   free_all:   for each id:                          free(id)
//! ```
//!
//! Every experiment checks the bytes it stored, so a benchmark figure can
//! never come from an allocator that lost or mixed up data.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::object_allocator::{ObjectAllocator, ObjectId};

/// Why an experiment could not run to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentError {
    /// `malloc` returned `None`.
    Refused {
        /// The allocator's name.
        allocator: String,
        /// The size it refused.
        size: usize,
    },
    /// An object did not read back as written.
    Corrupted {
        /// The allocator's name.
        allocator: String,
        /// The object's index in the workload.
        object: usize,
    },
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExperimentError::Refused { allocator, size } => {
                write!(formatter, "{allocator} refused an object of {size} bytes")
            }
            ExperimentError::Corrupted { allocator, object } => {
                write!(
                    formatter,
                    "{allocator} returned wrong bytes for object {object}"
                )
            }
        }
    }
}

/// Allocate and write one object.
pub fn store(
    allocator: &mut dyn ObjectAllocator,
    bytes: &[u8],
) -> Result<ObjectId, ExperimentError> {
    let id = allocator
        .malloc(bytes.len())
        .ok_or_else(|| ExperimentError::Refused {
            allocator: allocator.name(),
            size: bytes.len(),
        })?;
    allocator.write(id, bytes);
    Ok(id)
}

/// Store every object, in order; returns their ids in the same order.
pub fn store_all<'a>(
    allocator: &mut dyn ObjectAllocator,
    objects: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<ObjectId>, ExperimentError> {
    objects
        .into_iter()
        .map(|bytes| store(allocator, bytes))
        .collect()
}

/// Check that `ids[i]` holds `objects[i]`.
pub fn verify<'a>(
    allocator: &mut dyn ObjectAllocator,
    objects: impl IntoIterator<Item = &'a [u8]>,
    ids: &[ObjectId],
) -> Result<(), ExperimentError> {
    let mut buffer = vec![0; crate::PAGE_SIZE];
    for (index, (bytes, &id)) in objects.into_iter().zip(ids).enumerate() {
        let back = &mut buffer[..bytes.len()];
        allocator.read(id, back);
        if back != bytes {
            return Err(ExperimentError::Corrupted {
                allocator: allocator.name(),
                object: index,
            });
        }
    }
    Ok(())
}

/// Free every id.
pub fn free_all(allocator: &mut dyn ObjectAllocator, ids: &[ObjectId]) {
    for &id in ids {
        allocator.free(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zbud::Zbud;

    #[test]
    fn stored_objects_verify_and_a_wrong_one_is_reported() {
        let objects: Vec<Vec<u8>> = (1..=5u8).map(|n| vec![n; 300 * n as usize]).collect();
        let mut zbud = Zbud::new();
        let slices = || objects.iter().map(Vec::as_slice);
        let ids = store_all(&mut zbud, slices()).unwrap();
        assert_eq!(verify(&mut zbud, slices(), &ids), Ok(()));
        zbud.write(ids[3], &[0]);
        let error = verify(&mut zbud, slices(), &ids).unwrap_err();
        assert_eq!(
            error,
            ExperimentError::Corrupted {
                allocator: zbud.name(),
                object: 3
            }
        );
        free_all(&mut zbud, &ids);
        assert_eq!(zbud.data_pages(), 0);
        let refused = store(&mut zbud, &[]).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "zbud (2 per page) refused an object of 0 bytes"
        );
    }
}
