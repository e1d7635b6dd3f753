//! Embeds the built browser app (`dist/`, made by Trunk) into the relay binary,
//! so that deploying confide is copying one file. Each asset is stored raw and
//! precompressed (gzip, brotli) so that serving costs no CPU.
//!
//! When `dist/` does not exist (a plain `cargo build` before `trunk build`) the
//! table is empty and the relay answers with a page that says how to build it.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dist = env::var_os("CONFIDE_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("../dist"));
    println!("cargo:rerun-if-env-changed=CONFIDE_DIST_DIR");
    println!("cargo:rerun-if-changed={}", dist.display());

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_default());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();

    let mut table = String::from("pub static ASSETS: &[Asset] = &[\n");
    for (i, rel) in files.iter().enumerate() {
        let path = dist.join(rel);
        let raw = fs::read(&path).unwrap_or_default();
        let gz = gzip(&raw);
        let br = brotli(&raw);
        let gz_path = out_dir.join(format!("asset{i}.gz"));
        let br_path = out_dir.join(format!("asset{i}.br"));
        let _ = fs::write(&gz_path, &gz);
        let _ = fs::write(&br_path, &br);
        let etag = hex(&Sha256::digest(&raw)[..12]);
        let url = format!("/{}", rel.replace('\\', "/"));
        let _ = writeln!(
            table,
            "    Asset {{ path: {url:?}, raw: include_bytes!({raw:?}), gzip: include_bytes!({gz:?}), brotli: include_bytes!({br:?}), etag: {etag:?} }},",
            raw = path.display().to_string(),
            gz = gz_path.display().to_string(),
            br = br_path.display().to_string(),
        );
    }
    table.push_str("];\n");

    let _ =
        fs::File::create(out_dir.join("assets.rs")).and_then(|mut f| f.write_all(table.as_bytes()));
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
