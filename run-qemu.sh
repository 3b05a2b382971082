#!/usr/bin/env bash
# zsmalloc-os: set up what is missing, then boot the demo or run the tests.
#
#   ./run-qemu.sh [OPTIONS]     boot the demo kernel in QEMU (options: ./run-qemu.sh --help)
#   ./run-qemu.sh test [NAME]   run every test (host and in-QEMU) whose name contains NAME
#   ./run-qemu.sh bench [--corpus FILE]   memory-efficiency and speed benchmark, host and QEMU
#   ./run-qemu.sh miri          the no_std crates' tests under Miri;  ./run-qemu.sh lint   fmt + clippy
#   ./run-qemu.sh plot LOG... [-o DIR]   SVG charts from the report lines of saved runs
#   ./run-qemu.sh grade [LAB] [--reference] [--below-half]   grade the labs (labs/README.md)
#
# Set-up: the Rust toolchain pinned in rust-toolchain.toml with its components
# and the x86_64-unknown-none target (through rustup), and QEMU with OVMF
# (through apt-get when run as root; otherwise it says what to install).
set -euo pipefail
invocation_dir=$PWD
cd "$(dirname "$0")"

die() { echo "run-qemu.sh: $*" >&2; exit 1; }

toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)

ensure_toolchain() {
    command -v rustup >/dev/null 2>&1 ||
        die "rustup is needed to install the pinned Rust toolchain ($toolchain); see https://rustup.rs"
    if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
        echo "run-qemu.sh: installing Rust $toolchain ..." >&2
        rustup toolchain install "$toolchain" --profile minimal --no-self-update >&2
    fi
    local installed
    installed=$(rustup component list --installed --toolchain "$toolchain")
    for component in rust-src llvm-tools clippy rustfmt miri; do
        if ! grep -q "^$component" <<<"$installed"; then
            local name=$component
            [ "$component" = llvm-tools ] && name=llvm-tools-preview
            rustup component add --toolchain "$toolchain" "$name" >&2
        fi
    done
    if ! rustup target list --installed --toolchain "$toolchain" | grep -qx x86_64-unknown-none; then
        rustup target add --toolchain "$toolchain" x86_64-unknown-none >&2
    fi
}

ensure_qemu() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
    [ -e /usr/share/ovmf/OVMF.fd ] || [ -e /usr/share/OVMF/OVMF.fd ] || missing+=(ovmf)
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "run-qemu.sh: installing ${missing[*]} ..." >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else
        die "please install: sudo apt-get install ${missing[*]}   (QEMU and its UEFI firmware)"
    fi
}

setup() {
    ensure_toolchain
    ensure_qemu
}

# Add up the "test result: ... N passed; M failed" lines of every test binary
# (host crates, doc tests, the kernel's own runs) into one closing line.
summarise() {
    awk '/^test result: / {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed;?$/) passed += $i
                if ($(i + 1) ~ /^failed;?$/) failed += $i
            }
         }
         END { printf "total: %d passed, %d failed\n", passed, failed }' "$1"
}

run_tests() {
    local filter=("$@")
    local log status=0
    log=$(mktemp)
    {
        echo "== host tests: zsmalloc, zram, bench, buddy, kmap-slots, boot-options, shell-input, plot, grade =="
        cargo test -p zsmalloc -p zram -p bench -p buddy -p kmap-slots -p boot-options -p shell-input -p plot -p grade -- "${filter[@]}" || status=1
        echo "== in-QEMU tests (BIOS and UEFI) and runner checks =="
        cargo test --release -p boot -- "${filter[@]}" || status=1
        [ "$status" -eq 0 ]
    } 2>&1 | tee "$log" || status=1
    summarise "$log"
    rm -f "$log"
    return "$status"
}

case "${1:-}" in
    test)
        shift
        setup
        run_tests "$@"
        ;;
    miri)
        # The host tests of the no_std crates under Miri (undefined-behaviour
        # checker); the tests shrink their sizes under cfg(miri). Takes a few minutes.
        shift
        setup
        # zsmalloc/tests/forget.rs leaks on purpose (it checks that mem::forget
        # on a window or a pool is harmless), so it alone runs with Miri's leak
        # check off; every other test keeps it.
        targets=()
        for file in zsmalloc/tests/*.rs; do
            name=$(basename "$file" .rs)
            [ "$name" = forget ] || targets+=(--test "$name")
        done
        cargo miri test -p zsmalloc --lib "${targets[@]}" -- "$@"
        cargo miri test -p zsmalloc --doc -- "$@"
        MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-ignore-leaks" cargo miri test -p zsmalloc --test forget -- "$@"
        cargo miri test -p buddy -p kmap-slots -p boot-options -p shell-input -- "$@"
        ;;
    lint)
        # Formatting and clippy, as CI checks them.
        setup
        cargo fmt --all -- --check
        # (boot apart: its kernel artifact must not see the host crates' test features)
        cargo clippy -p zsmalloc -p zram -p bench -p buddy -p kmap-slots -p boot-options -p shell-input -p plot -p grade --all-targets -- -D warnings
        cargo clippy -p boot --all-targets -- -D warnings
        cargo clippy -p kernel -p kernel-tests -p kernel-bench --target x86_64-unknown-none -- -D warnings
        ;;
    bench)
        # Host half (parts 1, 2 and 4 in ns), then the in-QEMU half (parts 3
        # and 4 in cycles) on the same corpus. LOWMEM is enlarged because the
        # baseline allocators keep their pages on the kernel heap.
        shift
        setup
        corpus=()
        arguments=("$@")
        for ((i = 0; i < ${#arguments[@]}; i++)); do
            [ "${arguments[i]}" = --corpus ] && corpus=(--corpus "${arguments[i + 1]:-}")
        done
        cargo run --quiet --release -p bench -- "$@"
        exec cargo run --quiet --release -p boot -- --bench --lowmem 128M "${corpus[@]}"
        ;;
    plot)
        # Charts from saved logs. Paths are the caller's: relative ones are
        # made absolute, since this script works from the repository.
        shift
        setup
        arguments=()
        for argument in "$@"; do
            if [[ $argument != -* && $argument != /* ]]; then
                argument=$invocation_dir/$argument
            fi
            arguments+=("$argument")
        done
        exec cargo run --quiet --release -p plot -- "${arguments[@]}"
        ;;
    grade)
        # The labs' grader: builds each lab with the student's code under
        # labs/ (or the project's with --reference), one line per test.
        shift
        setup
        exec cargo run --quiet -p grade -- "$@"
        ;;
    -h | --help)
        setup
        exec cargo run --quiet --release -p boot -- --help
        ;;
    *)
        setup
        # --screenshot DIR is the caller's path: make a relative one absolute.
        arguments=("$@")
        for ((i = 1; i < ${#arguments[@]}; i++)); do
            if [[ ${arguments[i - 1]} == --screenshot && ${arguments[i]} != /* ]]; then
                arguments[i]=$invocation_dir/${arguments[i]}
            fi
        done
        exec cargo run --quiet --release -p boot -- "${arguments[@]}"
        ;;
esac
