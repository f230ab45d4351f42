//! `fieldbook-server`: the office sync server's command line; the commands
//! are in [`fieldbook_server::cli`].

fn main() -> std::process::ExitCode {
    fieldbook_server::cli::main()
}
