#!/usr/bin/env bash
# zsmalloc-os: set up what is missing, then boot the demo or run the tests.
#
#   ./run-qemu.sh [OPTIONS]     boot the demo kernel in QEMU (options: ./run-qemu.sh --help)
#   ./run-qemu.sh test [NAME]   run every test (host and in-QEMU) whose name contains NAME
#   ./run-qemu.sh swap [OPTIONS]   the compressed-swap workload (--resident 25%, --corpus FILE, ...)
#   ./run-qemu.sh bench [--corpus FILE]   memory-efficiency and speed benchmark, host and QEMU
#   ./run-qemu.sh miri          the no_std crates' tests under Miri;  ./run-qemu.sh lint   fmt + clippy
#   ./run-qemu.sh plot LOG... [-o DIR]   SVG charts from the report lines of saved runs
#   ./run-qemu.sh book          the guided tour (mdBook) into book/book/
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

# The mdBook version the tour is built with; installed from crates.io into
# .tools/ when no mdbook of that version is on the PATH.
mdbook_version=0.5.4

ensure_mdbook() {
    local candidate
    for candidate in mdbook .tools/bin/mdbook; do
        if "$candidate" --version 2>/dev/null | grep -qx "mdbook v$mdbook_version"; then
            mdbook=$candidate
            return
        fi
    done
    echo "run-qemu.sh: installing mdbook $mdbook_version into .tools/ ..." >&2
    cargo install mdbook --locked --version "$mdbook_version" --root .tools >&2 ||
        die "could not install mdbook $mdbook_version (it comes from crates.io)"
    mdbook=.tools/bin/mdbook
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

# The host crates: tested with `cargo test`, linted with their test targets.
host_crate_names=(zsmalloc zram bench buddy kmap-slots boot-options shell-input swap-workload plot tour-check grade)
host_crates=()
for name in "${host_crate_names[@]}"; do host_crates+=(-p "$name"); done

run_tests() {
    local filter=("$@")
    local log status=0
    log=$(mktemp)
    {
        echo "== host tests: ${host_crate_names[*]} =="
        cargo test "${host_crates[@]}" -- "${filter[@]}" || status=1
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
        cargo miri test -p buddy -p kmap-slots -p boot-options -p shell-input -p swap-workload -- "$@"
        ;;
    lint)
        # Formatting and clippy, as CI checks them.
        setup
        cargo fmt --all -- --check
        # (boot apart: its kernel artifact must not see the host crates' test features)
        cargo clippy "${host_crates[@]}" --all-targets -- -D warnings
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
    book)
        # The guided tour: book/src/ into book/book/ (open book/book/index.html).
        # The test suite's tour-check keeps the paths and items it names real.
        shift
        [ $# -eq 0 ] || die "book takes no arguments"
        ensure_toolchain
        ensure_mdbook
        "$mdbook" build book
        echo "run-qemu.sh: the tour is in book/book/index.html"
        ;;
    swap)
        # The demo kernel with the compressed-swap workload; every demo option
        # applies (--corpus, --built-in, --zsmalloc, --icount, ...).
        shift
        setup
        exec cargo run --quiet --release -p boot -- --swap "$@"
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
