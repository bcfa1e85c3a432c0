//! Zstandard decompression into a ring buffer several windows long, through libzstd's buffer-less streaming API
//! (`ZSTD_decompressBegin` / `ZSTD_nextSrcSizeToDecompress` / `ZSTD_decompressContinue`, zstd.h "Buffer-less
//! streaming decompression").
//!
//! libzstd's ordinary streaming decoder (what `zstd::stream::read::Decoder` drives) keeps a buffer of one window
//! plus one block: it wraps around that buffer once per window of output, after which every match that reaches
//! back past the wrap is copied by a `memmove` call out of the "external dictionary" segment, and every block is
//! copied once more from that buffer to the caller's. Here the blocks are decoded straight into a buffer of at least
//! four windows (16 MiB or more), which is also what [`BufRead::fill_buf`] hands out: wraps are four times rarer
//! and the second copy is gone. On the chronam corpus (4 MiB window) decoding alone takes about 10% less CPU
//! (`bench/RESULTS.md`, thirteenth session).
//!
//! Concatenated frames and skippable frames are read like the `zstd` crate's decoder reads them; a frame whose
//! window is over 128 MiB (zstd's default limit for decoding), a corrupt block or a frame cut short is an
//! [`io::Error`].

use std::io::{self, BufRead, Read};
use std::ptr::NonNull;

use zstd_sys as zs;

/// The largest block a frame can hold (`ZSTD_BLOCKSIZE_MAX`): the room the ring keeps free for each block.
const BLOCK_MAX: usize = 128 << 10;
/// The largest window decoded, as for libzstd's own decoder by default (`ZSTD_WINDOWLOG_LIMIT_DEFAULT` = 27).
const WINDOW_MAX: u64 = 1 << 27;
/// The ring's least size before the block room.
const RING_MIN: usize = 16 << 20;

/// A decoder of zstd frames read from `inner`, handing out the decompressed bytes as a [`BufRead`].
///
/// The bytes given out by `fill_buf` stay valid until the next call that decodes (a `fill_buf` after they are all
/// consumed), as for any `BufRead`.
pub struct RingDecoder<R> {
    inner: R,
    dctx: NonNull<zs::ZSTD_DCtx>,
    ring: Vec<u8>,
    /// Next byte to hand out, and end of the decoded bytes, in `ring`.
    read: usize,
    write: usize,
    /// A frame's input bytes when the inner buffer holds fewer than the decoder asks for at once.
    src: Vec<u8>,
    /// Whether a frame is being decoded (`ZSTD_decompressBegin` called and its last part not yet given).
    in_frame: bool,
    /// Whether the input ended at a frame boundary.
    done: bool,
    /// The current frame's header bytes, gathered until the header is whole and the ring sized for its window.
    header: Vec<u8>,
    sized: bool,
}

// SAFETY: the decompression context is owned by this value alone and libzstd does not tie it to a thread.
unsafe impl<R: Send> Send for RingDecoder<R> {}

impl<R: BufRead> RingDecoder<R> {
    /// A decoder over `inner`, which starts at a zstd frame (or a skippable frame).
    ///
    /// # Errors
    /// When libzstd cannot allocate its context.
    pub fn new(inner: R) -> io::Result<Self> {
        // SAFETY: plain constructor; a null result is handled.
        let dctx = NonNull::new(unsafe { zs::ZSTD_createDCtx() })
            .ok_or_else(|| io::Error::other("zstd: cannot create a decompression context"))?;
        Ok(RingDecoder {
            inner,
            dctx,
            ring: Vec::new(),
            read: 0,
            write: 0,
            src: Vec::new(),
            in_frame: false,
            done: false,
            header: Vec::new(),
            sized: false,
        })
    }

    /// This decoder without the check of the frames' content checksums (libzstd's `ZSTD_d_forceIgnoreChecksum`):
    /// for bytes read a second time, whose checksums a first reading verified. The XXH64 of every decoded byte is the
    /// cost it saves: 7-8% of decoding's CPU (the 1 GB scale corpus recompressed with checksums, `bench/RESULTS.md`,
    /// eighteenth session).
    /// Corrupt blocks are still an error; a corrupt byte that decodes is not caught here.
    ///
    /// # Errors
    /// When libzstd refuses the parameter (a frame already begun).
    pub fn without_checksum(self) -> io::Result<Self> {
        // SAFETY: the context is valid; the parameter takes 0 (check) or 1 (ignore).
        let code = unsafe {
            zs::ZSTD_DCtx_setParameter(self.dctx.as_ptr(), zs::ZSTD_dParameter::ZSTD_d_experimentalParam3, 1)
        };
        if is_error(code) {
            return Err(zstd_error(code));
        }
        Ok(self)
    }

    /// Starts the next frame. `false` at the end of the input.
    fn begin_frame(&mut self) -> io::Result<bool> {
        if self.inner.fill_buf()?.is_empty() {
            return Ok(false);
        }
        // SAFETY: the context is valid; this resets it for a new frame.
        let code = unsafe { zs::ZSTD_decompressBegin(self.dctx.as_ptr()) };
        if is_error(code) {
            return Err(zstd_error(code));
        }
        self.in_frame = true;
        self.header.clear();
        self.sized = false;
        Ok(true)
    }

    /// Sizes the ring for the window of the frame whose header is `self.header` (complete), before its first block.
    fn size_ring(&mut self) -> io::Result<()> {
        // SAFETY: `ZSTD_FrameHeader` is plain data, filled by `ZSTD_getFrameHeader` from the header's bytes only.
        let mut fh: zs::ZSTD_FrameHeader = unsafe { std::mem::zeroed() };
        let code = unsafe { zs::ZSTD_getFrameHeader(&mut fh, self.header.as_ptr().cast(), self.header.len()) };
        if is_error(code) {
            return Err(zstd_error(code));
        }
        if code > 0 {
            // Not whole yet: the decoder asks for the rest next.
            return Ok(());
        }
        if fh.windowSize > WINDOW_MAX {
            return Err(io::Error::other(format!(
                "zstd: a frame's window of {} bytes is over the {WINDOW_MAX}-byte limit",
                fh.windowSize
            )));
        }
        let window = fh.windowSize as usize;
        let want = RING_MIN.max((4 * window).min(window + (64 << 20))) + BLOCK_MAX;
        if self.ring.len() < want {
            // Nothing is left to hand out at a frame's start, and a new frame refers to no earlier bytes.
            self.ring = vec![0u8; want];
            self.read = 0;
            self.write = 0;
        }
        self.sized = true;
        Ok(())
    }

    /// Decodes until some bytes are ready to hand out or the input ends (`read == write` then).
    fn decode_more(&mut self) -> io::Result<()> {
        loop {
            if !self.in_frame && !self.begin_frame()? {
                self.done = true;
                return Ok(());
            }
            // SAFETY: the context is valid.
            let need = unsafe { zs::ZSTD_nextSrcSizeToDecompress(self.dctx.as_ptr()) };
            if need == 0 {
                self.in_frame = false;
                continue;
            }
            // A block is decoded at the write position where a whole one fits, else at the ring's start: the bytes
            // it may refer to (one window back) lie at the ring's end, which is a window and a block long or more.
            if self.ring.len() - self.write < BLOCK_MAX {
                self.write = 0;
            }
            self.read = self.write;
            let avail = self.inner.fill_buf()?;
            let from_inner = avail.len() >= need;
            let src: &[u8] = if from_inner {
                &avail[..need]
            } else {
                self.src.resize(need, 0);
                self.inner.read_exact(&mut self.src).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        io::Error::new(io::ErrorKind::UnexpectedEof, "zstd: the input ends inside a frame")
                    } else {
                        e
                    }
                })?;
                &self.src
            };
            if !self.sized {
                self.header.extend_from_slice(src);
            }
            let dst = &mut self.ring[self.write..];
            // SAFETY: `dst` and `src` are valid for their lengths and do not overlap; `src` holds exactly the bytes
            // the decoder asked for.
            let produced = unsafe {
                zs::ZSTD_decompressContinue(
                    self.dctx.as_ptr(),
                    dst.as_mut_ptr().cast(),
                    dst.len(),
                    src.as_ptr().cast(),
                    need,
                )
            };
            if from_inner {
                self.inner.consume(need);
            }
            if is_error(produced) {
                return Err(zstd_error(produced));
            }
            if !self.sized {
                self.size_ring()?;
            }
            if produced > 0 {
                self.write += produced;
                return Ok(());
            }
        }
    }
}

impl<R: BufRead> Read for RingDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for RingDecoder<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.read == self.write && !self.done {
            self.decode_more()?;
        }
        Ok(&self.ring[self.read..self.write])
    }

    fn consume(&mut self, amt: usize) {
        self.read = (self.read + amt).min(self.write);
    }
}

impl<R> Drop for RingDecoder<R> {
    fn drop(&mut self) {
        // SAFETY: the context was made by `ZSTD_createDCtx` and is freed once.
        unsafe { zs::ZSTD_freeDCtx(self.dctx.as_ptr()) };
    }
}

fn is_error(code: usize) -> bool {
    // SAFETY: a pure function of its argument.
    unsafe { zs::ZSTD_isError(code) != 0 }
}

fn zstd_error(code: usize) -> io::Error {
    // SAFETY: libzstd returns a static, NUL-terminated message for any code.
    let msg = unsafe { std::ffi::CStr::from_ptr(zs::ZSTD_getErrorName(code)) };
    io::Error::other(format!("zstd: {}", msg.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text that compresses with long matches reaching far back, like newspaper text repeated across pages.
    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let words: Vec<String> = (0..5000u64)
            .map(|i| {
                let h = (i ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                format!("w{:x}", h >> 44)
            })
            .collect();
        let mut out = Vec::with_capacity(len + 16);
        let mut s = seed | 1;
        while out.len() < len {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            out.extend_from_slice(words[(s % 5000) as usize].as_bytes());
            out.push(if s.is_multiple_of(11) { b'\n' } else { b' ' });
        }
        out.truncate(len);
        out
    }

    fn decode_all(compressed: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        RingDecoder::new(io::BufReader::with_capacity(1000, compressed))?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn decodes_what_zstd_encodes_across_many_wraps() {
        // A small window (64 KiB): 40 MB wrap the 16 MiB ring twice.
        let data = sample(40 << 20, 7);
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        enc.set_parameter(zstd::zstd_safe::CParameter::WindowLog(16)).unwrap();
        enc.include_checksum(true).unwrap();
        io::Write::write_all(&mut enc, &data).unwrap();
        let compressed = enc.finish().unwrap();
        assert!(compressed.len() < data.len() / 2, "the sample should compress");
        assert!(decode_all(&compressed).unwrap() == data);
    }

    #[test]
    fn reads_concatenated_and_skippable_frames_like_the_zstd_crate() {
        let (a, b) = (sample(300_000, 1), sample(5_000_000, 2));
        let mut compressed = zstd::encode_all(&a[..], 1).unwrap();
        // A skippable frame: magic 0x184D2A50, a 4-byte length, that many bytes.
        compressed.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        compressed.extend_from_slice(&5u32.to_le_bytes());
        compressed.extend_from_slice(b"12345");
        compressed.extend_from_slice(&zstd::encode_all(&b[..], 19).unwrap());
        compressed.extend_from_slice(&zstd::encode_all(&b""[..], 3).unwrap());
        let ours = decode_all(&compressed).unwrap();
        let theirs = zstd::decode_all(&compressed[..]).unwrap();
        assert_eq!(ours.len(), a.len() + b.len());
        assert!(ours == theirs);
    }

    /// `data` as one zstd frame (level 3) with its content checksum.
    fn with_checksum(data: &[u8]) -> Vec<u8> {
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        enc.include_checksum(true).unwrap();
        io::Write::write_all(&mut enc, data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn without_checksums_the_same_bytes_and_a_wrong_checksum_passes() {
        let data = sample(3_000_000, 5);
        let compressed = with_checksum(&data);
        let unchecked = |bytes: &[u8]| -> io::Result<Vec<u8>> {
            let mut out = Vec::new();
            RingDecoder::new(io::BufReader::with_capacity(1000, bytes))?.without_checksum()?.read_to_end(&mut out)?;
            Ok(out)
        };
        assert!(unchecked(&compressed).unwrap() == data);
        // The frame ends with its 4-byte checksum: a wrong one fails the checked decoder only.
        let mut wrong = compressed.clone();
        let last = wrong.len() - 1;
        wrong[last] ^= 0xFF;
        assert!(decode_all(&wrong).unwrap_err().to_string().starts_with("zstd: "));
        assert!(unchecked(&wrong).unwrap() == data);
        // A frame cut short is still an error.
        assert_eq!(unchecked(&compressed[..compressed.len() / 2]).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_frame_cut_short_or_corrupt_is_an_error() {
        let data = sample(2_000_000, 3);
        let compressed = with_checksum(&data);
        let cut = decode_all(&compressed[..compressed.len() / 2]).unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::UnexpectedEof, "{cut}");
        let mut bad = compressed.clone();
        for b in &mut bad[100..140] {
            *b ^= 0x5A;
        }
        assert!(zstd::decode_all(&bad[..]).is_err(), "the zstd crate refuses it too");
        assert!(decode_all(&bad).is_err());
        let mut trailing = compressed.clone();
        trailing.extend_from_slice(b"not zstd");
        assert!(decode_all(&trailing).unwrap_err().to_string().starts_with("zstd: "));
    }
}
