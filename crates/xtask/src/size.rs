//! The app's size as a student's browser downloads it: raw and gzipped, by kind.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;

/// What a student's browser may download to open a page, gzipped: wasm + js + css (the
/// visualiser issue's budget), for each of the app's pages. `cargo xtask test` fails
/// above it.
pub const BUDGET_GZIPPED: u64 = 350 * 1024;

/// Prints the size of the wasm, js and css in `dist`, raw and gzipped (level 9), and
/// returns the gzipped total.
pub fn report(dist: &Path) -> crate::Result<u64> {
    let mut rows: Vec<(&str, u64, u64)> = vec![("wasm", 0, 0), ("js", 0, 0), ("css", 0, 0)];
    let entries = std::fs::read_dir(dist).map_err(|e| format!("cannot read {}: {e}", dist.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        let Some(row) = rows.iter_mut().find(|(k, _, _)| *k == ext) else {
            continue;
        };
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&bytes).map_err(|e| e.to_string())?;
        let zipped = gz.finish().map_err(|e| e.to_string())?;
        row.1 += bytes.len() as u64;
        row.2 += zipped.len() as u64;
    }
    println!("    app size      raw        gzipped");
    let (mut raw, mut zipped) = (0, 0);
    for (kind, r, z) in &rows {
        println!("    {kind:<8} {:>9.1} KB {:>9.1} KB", *r as f64 / 1024.0, *z as f64 / 1024.0);
        raw += r;
        zipped += z;
    }
    println!("    {:<8} {:>9.1} KB {:>9.1} KB", "total", raw as f64 / 1024.0, zipped as f64 / 1024.0);
    println!(
        "    budget: {:.1} KB of {:.0} KB gzipped ({:.0}%)",
        zipped as f64 / 1024.0,
        BUDGET_GZIPPED as f64 / 1024.0,
        100.0 * zipped as f64 / BUDGET_GZIPPED as f64
    );
    Ok(zipped)
}

/// Fails when a page's gzipped total is over [`BUDGET_GZIPPED`].
pub fn enforce(page: &str, zipped: u64) -> crate::Result {
    if zipped > BUDGET_GZIPPED {
        return Err(format!(
            "the app's {page} page is {:.1} KB gzipped, over its budget of {:.0} KB: find what grew (twiggy top on the wasm) before adding more",
            zipped as f64 / 1024.0,
            BUDGET_GZIPPED as f64 / 1024.0
        ));
    }
    Ok(())
}
