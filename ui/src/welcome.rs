//! The attract screen's greeting, shown in every language at once (so it
//! cannot come from the one selected translation).

use kiosk_catalogue::Language;

/// Greeting and "touch to start" in `language`; English for unknown ones.
pub(crate) fn lines(language: &Language) -> (&'static str, &'static str) {
    match language.code() {
        "de" => (
            "Willkommen",
            "Bitte berühren Sie den Bildschirm, um zu beginnen",
        ),
        "tr" => ("Hoş geldiniz", "Başlamak için ekrana dokunun"),
        "ar" => ("أهلاً وسهلاً", "المس الشاشة للبدء"),
        "uk" => ("Ласкаво просимо", "Торкніться екрана, щоб почати"),
        "ru" => ("Добро пожаловать", "Коснитесь экрана, чтобы начать"),
        "pl" => ("Witamy", "Dotknij ekranu, aby rozpocząć"),
        "fr" => ("Bienvenue", "Touchez l'écran pour commencer"),
        "fa" => ("خوش آمدید", "برای شروع صفحه را لمس کنید"),
        _ => ("Welcome", "Touch the screen to begin"),
    }
}
