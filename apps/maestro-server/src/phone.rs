//! The start-up hint for the phone: with `EXTERNAL_URL` set, the URL to open and, on an
//! interactive terminal, a QR code of it to scan. Tokens never go into the URL (the web app
//! asks for them and keeps them in browser storage).

use std::io::{IsTerminal, Write};

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// The text printed at start-up for `url`; `with_qr` adds the QR code.
pub fn banner(url: &str, with_qr: bool) -> String {
    let mut out = format!("\n  Open Maestro on your phone: {url}\n");
    if with_qr {
        match QrCode::new(url.as_bytes()) {
            Ok(code) => {
                // Light modules drawn as blocks: reads right on the usual dark terminal.
                let image = code
                    .render::<Dense1x2>()
                    .dark_color(Dense1x2::Light)
                    .light_color(Dense1x2::Dark)
                    .quiet_zone(true)
                    .build();
                out.push('\n');
                for line in image.lines() {
                    out.push_str("  ");
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Err(e) => tracing::debug!(error = %e, "no QR code for the external URL"),
        }
    }
    out
}

/// Prints [`banner`] for `EXTERNAL_URL` on standard error (the QR code only when it is a
/// terminal, so logs collected from a service stay plain).
pub fn announce(external_url: Option<&str>) {
    let Some(url) = external_url else { return };
    tracing::info!(url, "phone URL (EXTERNAL_URL)");
    let stderr = std::io::stderr();
    let text = banner(url, stderr.is_terminal());
    let _ = stderr.lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_url_and_draws_a_square_code() {
        let plain = banner("https://maestro.example.com", false);
        assert!(plain.contains("https://maestro.example.com"));
        assert!(!plain.contains('\u{2588}'));
        let with_qr = banner("https://maestro.example.com", true);
        let rows: Vec<&str> = with_qr
            .lines()
            .filter(|l| l.contains(['\u{2580}', '\u{2584}', '\u{2588}']))
            .collect();
        // The code's modules plus a 4-module quiet zone on each side, two rows of modules per
        // line of text.
        let modules = QrCode::new(b"https://maestro.example.com").unwrap().width() + 8;
        let width = rows[0].trim_start_matches("  ").chars().count();
        assert_eq!(width, modules);
        assert_eq!(rows.len(), modules.div_ceil(2));
        assert!(
            rows.iter()
                .all(|r| r.trim_start_matches("  ").chars().count() == width)
        );
    }
}
