//! `kubesim`: run, check and explain Kubernetes cluster scenarios.

mod cli;
mod usage;

fn main() {
    std::process::exit(cli::main(std::env::args_os().collect()));
}
