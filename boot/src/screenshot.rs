//! Screenshots: the guest's screen saved as PNG at the end of each phase.
//!
//! ```text
//!   kernel (boot option `screenshot`)            host (this module)
//!   phase ends, screen drawn
//!   SCREEN-READY {"phase":"fill",...}  ──serial──►  monitor: screendump DIR/fill.ppm
//!   waits for one byte on the serial line           PPM ──► DIR/fill.png (crate png)
//!                                      ◄──serial──  "\n"
//!   next phase
//! ```
//!
//! QEMU's human monitor listens on a Unix socket (`-monitor unix:PATH`);
//! `screendump` writes the display as a binary PPM (P6), which is read back
//! here, checked, and turned into a PNG. [`Image`] is also how the tests
//! read the pixels.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The line the kernel prints when its screen shows a phase's end.
pub const READY_PREFIX: &str = "SCREEN-READY ";

/// An RGB image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row by row, 3 bytes (red, green, blue) per pixel.
    pub rgb: Vec<u8>,
}

impl Image {
    /// Parse a binary PPM (P6, maximum value 255) as QEMU's `screendump` writes it.
    pub fn from_ppm(bytes: &[u8]) -> anyhow::Result<Image> {
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            if bytes.get(at) == Some(&b'#') {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
                continue;
            }
            let start = at;
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            anyhow::ensure!(start < at, "truncated PPM header");
            fields.push(std::str::from_utf8(&bytes[start..at])?.to_string());
        }
        anyhow::ensure!(
            fields[0] == "P6",
            "not a binary PPM (magic {:?})",
            fields[0]
        );
        let width: usize = fields[1].parse()?;
        let height: usize = fields[2].parse()?;
        anyhow::ensure!(
            fields[3] == "255",
            "PPM maximum value {} is not 255",
            fields[3]
        );
        let pixels = &bytes[(at + 1).min(bytes.len())..];
        anyhow::ensure!(
            pixels.len() == width * height * 3,
            "PPM of {width}x{height} has {} bytes of pixels, not {}",
            pixels.len(),
            width * height * 3
        );
        Ok(Image {
            width,
            height,
            rgb: pixels.to_vec(),
        })
    }

    /// Read a PNG written by [`Image::write_png`] (8-bit RGB).
    pub fn read_png(path: &Path) -> anyhow::Result<Image> {
        let decoder = png::Decoder::new(BufReader::new(std::fs::File::open(path)?));
        let mut reader = decoder.read_info()?;
        let mut rgb = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader.next_frame(&mut rgb)?;
        anyhow::ensure!(
            info.color_type == png::ColorType::Rgb && info.bit_depth == png::BitDepth::Eight,
            "{} is not 8-bit RGB",
            path.display()
        );
        rgb.truncate(info.buffer_size());
        Ok(Image {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        })
    }

    /// Write the image as an 8-bit RGB PNG.
    pub fn write_png(&self, path: &Path) -> anyhow::Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.rgb)?;
        writer.finish()?;
        Ok(())
    }

    /// The colour of pixel (`x`, `y`).
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }

    /// Pixels of exactly `colour` in the rectangle `w` × `h` at (`x`, `y`)
    /// (clipped to the image).
    pub fn count(&self, colour: [u8; 3], x: usize, y: usize, w: usize, h: usize) -> usize {
        let (x_end, y_end) = ((x + w).min(self.width), (y + h).min(self.height));
        (y..y_end)
            .flat_map(|row| (x..x_end).map(move |column| (column, row)))
            .filter(|&(column, row)| self.pixel(column, row) == colour)
            .count()
    }
}

/// The phase named in a `SCREEN-READY {json}` line.
pub fn phase_of(line: &str) -> Option<&str> {
    let json = line.strip_prefix(READY_PREFIX)?;
    let value = json.split("\"phase\":\"").nth(1)?;
    let phase = &value[..value.find('"')?];
    phase
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        .then_some(phase)
        .filter(|phase| !phase.is_empty())
}

/// QEMU's monitor on a Unix socket.
pub struct Monitor {
    stream: BufReader<UnixStream>,
}

impl Monitor {
    /// Connect to the monitor at `socket` (QEMU creates it as it starts:
    /// wait for it up to `patience`).
    pub fn connect(socket: &Path, patience: Duration) -> anyhow::Result<Monitor> {
        let started = Instant::now();
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(stream) => break stream,
                Err(error) if started.elapsed() > patience => {
                    anyhow::bail!(
                        "QEMU's monitor at {} did not answer: {error}",
                        socket.display()
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut monitor = Monitor {
            stream: BufReader::new(stream),
        };
        monitor.until_prompt()?;
        Ok(monitor)
    }

    /// Run one command and wait for the next prompt.
    fn command(&mut self, command: &str) -> anyhow::Result<String> {
        self.stream
            .get_mut()
            .write_all(format!("{command}\n").as_bytes())?;
        self.until_prompt()
    }

    /// Read until the monitor's prompt `(qemu) `; the text before it.
    fn until_prompt(&mut self) -> anyhow::Result<String> {
        let mut text = Vec::new();
        loop {
            let mut chunk = Vec::new();
            let read = self.stream.read_until(b' ', &mut chunk)?;
            anyhow::ensure!(read > 0, "QEMU's monitor closed");
            text.extend_from_slice(&chunk);
            if text.ends_with(b"(qemu) ") {
                return Ok(String::from_utf8_lossy(&text).into_owned());
            }
        }
    }

    /// Save the screen as `directory/phase.png`; returns the PNG's path.
    pub fn screenshot(&mut self, directory: &Path, phase: &str) -> anyhow::Result<PathBuf> {
        let ppm = directory.join(format!("{phase}.ppm"));
        let _ = std::fs::remove_file(&ppm);
        let answer = self.command(&format!("screendump {}", ppm.display()))?;
        let mut bytes = Vec::new();
        std::fs::File::open(&ppm)
            .map_err(|error| {
                anyhow::anyhow!("screendump wrote no {} ({error}): {answer}", ppm.display())
            })?
            .read_to_end(&mut bytes)?;
        let image = Image::from_ppm(&bytes)?;
        let png = directory.join(format!("{phase}.png"));
        image.write_png(&png)?;
        std::fs::remove_file(&ppm)?;
        Ok(png)
    }
}

/// Where QEMU's monitor listens for the run of `image`.
pub fn monitor_socket(image: &Path) -> PathBuf {
    image.with_file_name("monitor.sock")
}

/// Takes the screenshots the kernel asks for: the runner hands it every
/// console line, and on `SCREEN-READY` it saves the screen, then lets the
/// kernel go on with one byte on the serial line.
pub struct Camera {
    directory: PathBuf,
    socket: PathBuf,
    monitor: Option<Monitor>,
    serial: Option<std::process::ChildStdin>,
}

impl Camera {
    /// A camera for the run of `image`, saving into `directory` (created),
    /// answering the kernel through `serial` (QEMU's stdin).
    pub fn new(
        directory: &Path,
        image: &Path,
        serial: Option<std::process::ChildStdin>,
    ) -> anyhow::Result<Camera> {
        std::fs::create_dir_all(directory).map_err(|error| {
            anyhow::anyhow!(
                "cannot create the screenshot directory {}: {error}",
                directory.display()
            )
        })?;
        Ok(Camera {
            directory: directory.to_path_buf(),
            socket: monitor_socket(image),
            monitor: None,
            serial,
        })
    }

    /// A console line: on `SCREEN-READY`, save the screen, then let the
    /// kernel go on. A failure is reported and the kernel still goes on.
    pub fn on_line(&mut self, line: &str) {
        let Some(phase) = phase_of(line) else {
            return;
        };
        match self.take(phase) {
            Ok(path) => eprintln!("screenshot: {}", path.display()),
            Err(error) => eprintln!("screenshot of phase {phase} failed: {error:#}"),
        }
        if let Some(serial) = self.serial.as_mut() {
            let _ = serial.write_all(b"\n").and_then(|()| serial.flush());
        }
    }

    fn take(&mut self, phase: &str) -> anyhow::Result<PathBuf> {
        if self.monitor.is_none() {
            self.monitor = Some(Monitor::connect(&self.socket, Duration::from_secs(10))?);
        }
        let monitor = self.monitor.as_mut().expect("connected just above");
        monitor.screenshot(&self.directory, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppm_round_trips_through_png() {
        let ppm = b"P6\n# comment\n2 1\n255\n\x01\x02\x03\xff\x00\x10";
        let image = Image::from_ppm(ppm).unwrap();
        assert_eq!((image.width, image.height), (2, 1));
        assert_eq!(image.pixel(1, 0), [0xff, 0, 0x10]);
        assert_eq!(image.count([1, 2, 3], 0, 0, 5, 5), 1);
        let directory =
            std::env::temp_dir().join(format!("screenshot-test-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("image.png");
        image.write_png(&path).unwrap();
        assert_eq!(Image::read_png(&path).unwrap(), image);
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn bad_ppm_is_an_error() {
        assert!(Image::from_ppm(b"P3\n1 1\n255\n000").is_err());
        assert!(Image::from_ppm(b"P6\n2 2\n255\n\x00").is_err());
        assert!(Image::from_ppm(b"P6\n2").is_err());
    }

    #[test]
    fn the_phase_is_read_from_the_ready_line() {
        assert_eq!(
            phase_of("SCREEN-READY {\"phase\":\"fill\",\"cell\":2}"),
            Some("fill")
        );
        assert_eq!(phase_of("SCREEN-READY {\"phase\":\"../x\"}"), None);
        assert_eq!(phase_of("ZRAM-REPORT {\"phase\":\"fill\"}"), None);
    }
}
