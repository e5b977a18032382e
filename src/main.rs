//! `kubesim`: run, check and explain Kubernetes cluster scenarios.

mod cli;

fn main() {
    std::process::exit(cli::main(std::env::args_os().collect()));
}
