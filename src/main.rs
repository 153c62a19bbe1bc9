use std::process::ExitCode;

fn main() -> ExitCode {
    tusk::cli::main()
}
