//! Compiles the Slint screens with the bundled translations (`translations/`).

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        // German is the source language; every other language is a .po file.
        .with_bundled_translations("translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        // Element ids and accessible labels for the UI tests.
        .with_debug_info(true)
        .embed_resources(slint_build::EmbedResourcesKind::EmbedFiles);
    slint_build::compile_with_config("ui/main.slint", config).expect("the Slint UI compiles");
}
