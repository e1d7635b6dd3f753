//! A fake camera whose picture no decoder makes up by chance: the left half
//! red, the right half blue, with a grey square moving across so that the
//! encoder keeps sending real delta frames. Chromium plays it instead of its
//! own (mostly green) fake camera with `--use-file-for-fake-video-capture`.
//!
//! Decoded ciphertext is noise over the green of an unfilled VP8 frame, and
//! Chromium's own fake camera is green too, so a mean colour cannot tell the
//! two apart; two halves of clearly different colours can.

use std::path::PathBuf;

use serde_json::Value;

use crate::browser::{Browser, TempDir};

const WIDTH: usize = 320;
const HEIGHT: usize = 240;
const FRAMES: usize = 30;
const SQUARE: usize = 32;

/// Y, U, V of full red and full blue (BT.601, limited range).
const RED: [u8; 3] = [81, 90, 240];
const BLUE: [u8; 3] = [41, 240, 110];
const GREY: [u8; 3] = [126, 128, 128];

/// The camera file; removed when dropped.
pub struct TwoColourCamera {
    _dir: TempDir,
    path: PathBuf,
}

impl TwoColourCamera {
    /// Writes the Y4M file (30 frames at 30 fps, played in a loop).
    pub fn new() -> TwoColourCamera {
        let dir = TempDir::new("confide-camera");
        let path = dir.path.join("two-colours.y4m");
        std::fs::write(&path, y4m())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        TwoColourCamera { _dir: dir, path }
    }

    /// The Chromium flag that makes this file the camera.
    pub fn chromium_flag(&self) -> String {
        format!("--use-file-for-fake-video-capture={}", self.path.display())
    }
}

impl Default for TwoColourCamera {
    fn default() -> Self {
        TwoColourCamera::new()
    }
}

fn y4m() -> Vec<u8> {
    let mut out = format!("YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg\n").into_bytes();
    for frame in 0..FRAMES {
        let square_x = frame * (WIDTH - SQUARE) / FRAMES;
        let square_y = (HEIGHT - SQUARE) / 2;
        let colour = |x: usize, y: usize| {
            if (square_x..square_x + SQUARE).contains(&x)
                && (square_y..square_y + SQUARE).contains(&y)
            {
                GREY
            } else if x < WIDTH / 2 {
                RED
            } else {
                BLUE
            }
        };
        out.extend_from_slice(b"FRAME\n");
        for y in 0..HEIGHT {
            out.extend((0..WIDTH).map(|x| colour(x, y)[0]));
        }
        for plane in [1, 2] {
            for y in (0..HEIGHT).step_by(2) {
                out.extend((0..WIDTH).step_by(2).map(|x| colour(x, y)[plane]));
            }
        }
    }
    out
}

/// Mean colours of the left and the right half of the first `<video>`
/// matching `css` (zeros when it has no picture).
pub async fn halves(browser: &Browser, css: &str) -> [[f64; 3]; 2] {
    let script = format!(
        "const v = document.querySelector({}); \
         if (!v || !v.videoWidth) return null; \
         const c = document.createElement('canvas'); c.width = 64; c.height = 48; \
         const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48); \
         const half = x0 => {{ const d = g.getImageData(x0, 0, 32, 48).data; const m = [0, 0, 0]; \
           for (let i = 0; i < d.length; i += 4) {{ m[0] += d[i]; m[1] += d[i+1]; m[2] += d[i+2]; }} \
           return m.map(s => s / (d.length / 4)); }}; \
         return [half(0), half(32)];",
        serde_json::to_string(css).unwrap_or_default()
    );
    let value = browser.eval(&script).await;
    let channel = |half: usize, i: usize| {
        value
            .pointer(&format!("/{half}/{i}"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    [0, 1].map(|half| [0, 1, 2].map(|i| channel(half, i)))
}

/// Whether the halves show the camera: red on the left, blue on the right.
pub fn shows_two_colours([left, right]: [[f64; 3]; 2]) -> bool {
    let [r, g, b] = left;
    let red = r > 120.0 && r > g + 60.0 && r > b + 60.0;
    let [r, g, b] = right;
    let blue = b > 120.0 && b > r + 60.0 && b > g + 60.0;
    red && blue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_a_header_and_thirty_whole_frames() {
        let file = y4m();
        let header = file
            .iter()
            .position(|&b| b == b'\n')
            .expect("a header line")
            + 1;
        let frame = b"FRAME\n".len() + WIDTH * HEIGHT * 3 / 2;
        assert_eq!(file.len(), header + FRAMES * frame);
        assert!(file.starts_with(b"YUV4MPEG2 W320 H240 "));
    }

    #[test]
    fn only_red_beside_blue_counts_as_the_camera() {
        let red = [230.0, 20.0, 30.0];
        let blue = [20.0, 40.0, 230.0];
        let green = [50.0, 135.0, 50.0];
        assert!(shows_two_colours([red, blue]));
        assert!(!shows_two_colours([blue, red]));
        assert!(!shows_two_colours([green, green]));
        assert!(!shows_two_colours([red, green]));
        assert!(!shows_two_colours([[0.0; 3], [0.0; 3]]));
    }
}
