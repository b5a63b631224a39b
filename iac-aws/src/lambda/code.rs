//! Packaging a function's code: a directory becomes a deterministic zip
//! (sorted entries, fixed timestamps, only the executable bit kept), so its
//! SHA-256 changes when, and only when, the code does.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Where a function's code comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    /// A local directory, zipped by the tool.
    Directory(PathBuf),
    /// A local zip file, uploaded as it is.
    Zip(PathBuf),
    /// An object in S3 (a new `version` redeploys).
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
        /// The object version, for versioned buckets.
        version: Option<String>,
    },
}

/// The zip to upload and its SHA-256 as AWS reports it (`CodeSha256`,
/// base64).
pub struct Package {
    /// The zip's bytes.
    pub bytes: Vec<u8>,
    /// Base64 of its SHA-256.
    pub sha256: String,
}

impl Package {
    /// Packages a directory or reads a zip; `None` for S3 code.
    pub fn of(code: &Code) -> Option<std::io::Result<Package>> {
        let bytes = match code {
            Code::Directory(dir) => zip_directory(dir),
            Code::Zip(file) => std::fs::read(file),
            Code::S3 { .. } => return None,
        };
        Some(bytes.map(|bytes| {
            let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
            Package { bytes, sha256 }
        }))
    }
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).map_err(std::io::Error::other)?.to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn zip_directory(dir: &Path) -> std::io::Result<Vec<u8>> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for rel in files(dir)? {
        let full = dir.join(&rel);
        let executable = is_executable(&full)?;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(if executable { 0o755 } else { 0o644 });
        let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        zip.start_file(name, options).map_err(std::io::Error::other)?;
        zip.write_all(&std::fs::read(&full)?)?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(_path: &Path) -> std::io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_follows_the_content_not_the_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("index.py"), "def handler(e, c):\n    return 1\n").unwrap();
        std::fs::write(dir.path().join("lib/util.py"), "X = 1\n").unwrap();
        let code = Code::Directory(dir.path().to_path_buf());
        let first = Package::of(&code).unwrap().unwrap().sha256;

        // Rewriting a file with the same content (a new mtime) is no change.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(dir.path().join("index.py"), "def handler(e, c):\n    return 1\n").unwrap();
        assert_eq!(Package::of(&code).unwrap().unwrap().sha256, first);

        std::fs::write(dir.path().join("lib/util.py"), "X = 2\n").unwrap();
        assert_ne!(Package::of(&code).unwrap().unwrap().sha256, first);
    }
}
