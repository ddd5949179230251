//! The site's built assets, brotli-compressed once at the highest quality
//! instead of at every request (the WebAssembly is a megabyte).

use std::path::{Path, PathBuf};

/// Whether `cargo leptos watch` rebuilds the assets while this server runs
/// (it restarts the server for code changes, not for the stylesheet). Then
/// a precompressed copy would go stale, so none is made or served.
pub fn rebuilt_while_serving() -> bool {
    std::env::var("LEPTOS_WATCH").is_ok_and(|v| v == "true")
}

/// File types worth compressing ahead of time.
const COMPRESSIBLE: [&str; 3] = ["wasm", "js", "css"];

/// Writes `name.br` beside each asset in `dir` that lacks a fresh one.
/// Returns the files written; a failure leaves on-the-fly compression.
pub fn precompress(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let target = PathBuf::from(format!("{}.br", path.display()));
        if is_fresh(&target, &path) {
            continue;
        }
        let partial = target.with_extension("br.partial");
        {
            let mut input = std::fs::File::open(&path)?;
            let output = std::fs::File::create(&partial)?;
            let mut encoder = brotli::CompressorWriter::new(output, 64 * 1024, 11, 22);
            std::io::copy(&mut input, &mut encoder)?;
        }
        std::fs::rename(&partial, &target)?;
        written.push(target);
    }
    Ok(written)
}

fn is_fresh(compressed: &Path, source: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(compressed), modified(source)), (Some(c), Some(s)) if c >= s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn compresses_assets_once_and_skips_the_rest() {
        let dir = std::env::temp_dir().join(format!("hitl-assets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = "(module) ".repeat(10_000);
        std::fs::write(dir.join("app.wasm"), &wasm).unwrap();
        std::fs::write(dir.join("notes.txt"), "not an asset").unwrap();

        let written = precompress(&dir).unwrap();
        assert_eq!(written, [dir.join("app.wasm.br")]);
        let compressed = std::fs::read(dir.join("app.wasm.br")).unwrap();
        assert!(compressed.len() < wasm.len() / 10);
        let mut round_trip = String::new();
        brotli::Decompressor::new(&compressed[..], 4096)
            .read_to_string(&mut round_trip)
            .unwrap();
        assert_eq!(round_trip, wasm);
        assert!(precompress(&dir).unwrap().is_empty(), "compressed twice");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
