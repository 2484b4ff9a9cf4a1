//! Compiles schemas/etcd/*.proto (our own descriptions of etcd's records) with protox, a pure-Rust
//! protobuf compiler, so no `protoc` is needed, then generates prost types from the descriptors.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from("schemas/etcd");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("schemas/etcd exists")
        .map(|e| e.expect("readable schemas/etcd entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .collect();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!("cargo:rerun-if-changed={}", dir.display());
    let fds = protox::compile(&files, [&dir]).expect("schemas/etcd compiles");
    prost_build::Config::new()
        .compile_fds(fds)
        .expect("prost code generation for schemas/etcd");
}
