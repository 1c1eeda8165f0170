//! PNG previews of the sample receipt in every language on both paper widths, rendered by
//! the virtual printer from the exact bytes a real printer would get.

use std::path::{Path, PathBuf};

use crate::encode::{EncodeError, build_job};
use crate::model::PrinterProfile;
use crate::raster::shared_rasterizer;
use crate::samples::SampleLanguage;
use crate::virtual_printer::interpret;

/// Why previews could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// A sample could not be encoded.
    #[error("the {language} sample receipt could not be encoded for {profile}: {source}")]
    Encode {
        /// Language tag.
        language: &'static str,
        /// Profile name.
        profile: String,
        /// Cause.
        #[source]
        source: EncodeError,
    },
    /// Writing a file failed.
    #[error("cannot write preview {path}: {source}; check that the directory is writable")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Writes `receipt-<lang>-<58mm|80mm>.png` for every shipped language into `out_dir`
/// (created if missing) and returns the files written.
pub fn render_previews(out_dir: &Path) -> Result<Vec<PathBuf>, PreviewError> {
    std::fs::create_dir_all(out_dir).map_err(|source| PreviewError::Write {
        path: out_dir.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for profile in [
        PrinterProfile::generic_58mm(),
        PrinterProfile::generic_80mm(),
    ] {
        for language in SampleLanguage::ALL {
            let receipt = language.receipt_with_logo();
            let job =
                build_job(&receipt, &profile, &mut shared_rasterizer()).map_err(|source| {
                    PreviewError::Encode {
                        language: language.tag(),
                        profile: profile.name.clone(),
                        source,
                    }
                })?;
            let path = out_dir.join(format!(
                "receipt-{}-{}.png",
                language.tag(),
                profile.paper.label()
            ));
            let png = interpret(job.bytes())
                .first()
                .map(|printed| printed.to_png(u32::from(profile.dots_per_line)))
                .unwrap_or_default();
            std::fs::write(&path, png).map_err(|source| PreviewError::Write {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
    }
    Ok(written)
}
