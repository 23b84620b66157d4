//! Compiles `adstore/v1/*.proto` with protox (pure Rust: no protoc on any machine) and generates
//! the prost messages and tonic services into `OUT_DIR`, plus `adstore_descriptor.bin`, the
//! encoded file descriptor set that server reflection serves.

use std::path::PathBuf;

const PROTOS: [&str; 3] = [
    "adstore/v1/ingest.proto",
    "adstore/v1/query.proto",
    "adstore/v1/admin.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut compiler = protox::Compiler::new(["."])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTOS)?;
    std::fs::write(
        out_dir.join("adstore_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .bytes(".adstore.v1")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
