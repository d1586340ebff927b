//! The overlay's one font: the Ubuntu Light egui ships by default, cut to the glyphs
//! sparkbench draws, in place of egui's four default fonts and their emoji (README,
//! "Bundle size").

use bevy::prelude::*;
use bevy_egui::{EguiContext, EguiPreUpdateSet, egui};

/// Ubuntu Light cut to Basic Latin, Latin-1 and a few symbols by `./build.sh fonts`, and
/// renamed as the Ubuntu Font Licence (`assets/fonts/UFL.txt`) asks of a modified font.
const OVERLAY_FONT: &[u8] =
    include_bytes!("../../assets/fonts/ubuntu-light-derivative-sparkbench.ttf");

/// The font's name in egui's font definitions.
const OVERLAY_FONT_NAME: &str = "Ubuntu-Light-derivative-sparkbench";

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        PreUpdate,
        install_overlay_font
            .after(EguiPreUpdateSet::InitContexts)
            .before(EguiPreUpdateSet::BeginPass),
    );
}

/// The overlay font, added to both families, proportional and monospace, after any fonts
/// the context already has.
fn overlay_font() -> egui::epaint::text::FontInsert {
    let families = [egui::FontFamily::Proportional, egui::FontFamily::Monospace].map(|family| {
        egui::epaint::text::InsertFontFamily {
            family,
            priority: egui::epaint::text::FontPriority::Lowest,
        }
    });
    egui::epaint::text::FontInsert::new(
        OVERLAY_FONT_NAME,
        egui::FontData::from_static(OVERLAY_FONT),
        families.into(),
    )
}

/// Gives every new egui context the overlay font before its first pass: with egui's
/// default fonts off, a context starts with none. Added as a fallback, so a host that set
/// its own fonts keeps them.
fn install_overlay_font(mut contexts: Query<&mut EguiContext, Added<EguiContext>>) {
    for mut context in &mut contexts {
        context.get_mut().add_font(overlay_font());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::*;

    /// Runs one pass of `context`, which loads its fonts.
    fn run_one_pass(context: &egui::Context) {
        let mut output = context.run_ui(egui::RawInput::default(), |_| {});
        // No renderer takes the font atlas: drop it deliberately.
        output.textures_delta.clear();
    }

    /// The fonts `context` uses after one update of an app with this module's plugin and
    /// one egui pass.
    fn fonts_after_install(context: egui::Context) -> egui::FontDefinitions {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_plugins(plugin);
        let mut component = EguiContext::default();
        *component.get_mut() = context;
        let entity = app.world_mut().spawn(component).id();
        app.update();
        let context = app
            .world_mut()
            .get_mut::<EguiContext>(entity)
            .unwrap()
            .get_mut()
            .clone();
        run_one_pass(&context);
        context.fonts(|fonts| fonts.definitions().clone())
    }

    #[test]
    fn a_new_egui_context_gets_the_overlay_font_before_its_first_pass() {
        let definitions = fonts_after_install(egui::Context::default());
        assert_eq!(
            definitions.font_data.keys().collect::<Vec<_>>(),
            [OVERLAY_FONT_NAME]
        );
        for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
            assert_eq!(
                definitions.families[&family],
                [OVERLAY_FONT_NAME],
                "{family:?}"
            );
        }
    }

    #[test]
    fn a_hosts_own_fonts_come_first_and_stay() {
        let host = egui::Context::default();
        let mut fonts = egui::FontDefinitions::empty();
        fonts.font_data.insert(
            "host".to_owned(),
            std::sync::Arc::new(egui::FontData::from_static(OVERLAY_FONT)),
        );
        fonts
            .families
            .insert(egui::FontFamily::Proportional, vec!["host".to_owned()]);
        host.set_fonts(fonts);
        let definitions = fonts_after_install(host);
        assert_eq!(
            definitions.families[&egui::FontFamily::Proportional],
            ["host", OVERLAY_FONT_NAME]
        );
    }

    /// Every `.rs` file under `dir`.
    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }

    /// The characters inside string literals on a line of Rust that is not a comment.
    fn string_literal_chars(line: &str) -> impl Iterator<Item = char> + '_ {
        let code = if line.trim_start().starts_with("//") {
            ""
        } else {
            line
        };
        code.split('"').skip(1).step_by(2).flat_map(str::chars)
    }

    #[test]
    fn the_font_has_every_character_the_app_writes_in_its_strings() {
        let mut files = Vec::new();
        rust_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        // Printable ASCII, and every character in a string literal of the app's sources
        // (the capture report's HTML, drawn by a browser with its own fonts, aside).
        let mut wanted: BTreeMap<char, String> = (' '..='~')
            .map(|c| (c, "printable ASCII".to_owned()))
            .collect();
        for file in files
            .iter()
            .filter(|file| !file.ends_with("capture/report.rs"))
        {
            let text = std::fs::read_to_string(file).unwrap();
            for c in text.lines().flat_map(string_literal_chars) {
                wanted
                    .entry(c)
                    .or_insert_with(|| file.display().to_string());
            }
        }
        assert!(
            wanted.contains_key(&'·'),
            "the scan found the overlay's separator"
        );

        let font = skrifa::FontRef::new(OVERLAY_FONT).expect("the overlay font reads");
        let charmap = skrifa::MetadataProvider::charmap(&font);
        let missing: Vec<_> = wanted
            .iter()
            .filter(|(c, _)| charmap.map(**c).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "the overlay font lacks these characters (add them to OVERLAY_FONT_GLYPHS in \
             build.sh and run ./build.sh fonts): {missing:?}"
        );
    }
}
