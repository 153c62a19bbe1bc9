use std::process::ExitCode;

// Builds allocate millions of small values (JSON maps for templates,
// Markdown events); mimalloc is markedly faster than the system allocator
// at that, especially across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tusk::main()
}
