//! Embeds the shipped default catalogue (`default/`) into the library, so the
//! kiosk starts with a complete catalogue before it has fetched any.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read at run time: `env!` would bake in the folder the build script was
    // first compiled in, which breaks when a target folder is reused elsewhere.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("default");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = vec!["catalogue.toml".to_owned()];
    let mut services: Vec<String> = std::fs::read_dir(root.join("services"))
        .expect("default/services exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".toml"))
        .map(|n| format!("services/{n}"))
        .collect();
    services.sort();
    files.extend(services);
    let mut code = String::from(
        "/// The shipped default catalogue files.\npub const DEFAULT_FILES: &[(&str, &str)] = &[\n",
    );
    for f in files {
        writeln!(
            code,
            "    ({f:?}, include_str!({:?})),",
            root.join(&f).display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("default_catalogue.rs");
    std::fs::write(out, code).unwrap();
}
