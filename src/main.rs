//! The `callflow` binary: everything lives in the library; this only hands
//! the command line to it.

/// A webhook makes many small, short-lived allocations (parameters, TwiML
/// elements); mimalloc serves them at a fraction of the system allocator's
/// cost, which the load test shows as requests per second.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    callflow::cli::main()
}
