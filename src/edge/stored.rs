//! Where the cache keeps a body. Bodies of [`MAPPED_FROM`] bytes or more
//! live in an anonymous memory mapping of their own, filled chunk by chunk
//! as they arrive; smaller ones in a heap buffer sized to them. Evicting a
//! mapped body unmaps it, so its pages go back to the system at once: on
//! the heap the allocator keeps freed pages (per size class and thread)
//! and the process grew far past `edge.cache_mb`. nginx keeps its cache
//! zone apart from its heap for the same reason.
//! Pages are small ones (see [`small_pages_only`]), so what the edge
//! frees or never touches is not resident.

use bytes::Bytes;
use memmap2::MmapMut;

/// The smallest body given a mapping of its own. Mappings count against
/// the kernel's limit per process (`vm.max_map_count`, 65,530 by
/// default): at 16 KiB, a 1 GiB cache holds at most 65,536 of them, and a
/// failed mapping falls back to the heap.
pub const MAPPED_FROM: usize = 16 * 1024;

const PAGE: usize = 4096;

/// A body being read, chunk by chunk.
pub struct Filling {
    buf: Buf,
    len: usize,
}

enum Buf {
    Heap(Vec<u8>),
    /// Written up to `len`; the pages beyond were never touched, so they
    /// are not resident.
    Mapped(MmapMut),
}

impl Filling {
    /// Room for `expected` bytes when the length is declared; otherwise the
    /// buffer grows as chunks come.
    pub fn new(expected: Option<u64>) -> Filling {
        let expected = expected.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let buf = match expected {
            n if n >= MAPPED_FROM => map(n).map_or_else(|| Buf::Heap(Vec::new()), Buf::Mapped),
            n => Buf::Heap(Vec::with_capacity(n)),
        };
        Filling { buf, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let needed = self.len + chunk.len();
        match &mut self.buf {
            Buf::Heap(vec) if needed < MAPPED_FROM || vec.capacity() >= needed => {
                vec.extend_from_slice(chunk);
            }
            Buf::Mapped(map) if map.len() >= needed => {
                map[self.len..needed].copy_from_slice(chunk);
            }
            // Grown by doubling into a new mapping; the old one is unmapped
            // at once, so nothing is left behind.
            _ => match map(needed.max(2 * self.len).max(4 * MAPPED_FROM)) {
                Some(mut bigger) => {
                    bigger[..self.len].copy_from_slice(self.written());
                    bigger[self.len..needed].copy_from_slice(chunk);
                    self.buf = Buf::Mapped(bigger);
                }
                None => {
                    let mut vec = Vec::with_capacity(needed);
                    vec.extend_from_slice(self.written());
                    vec.extend_from_slice(chunk);
                    self.buf = Buf::Heap(vec);
                }
            },
        }
        self.len = needed;
    }

    fn written(&self) -> &[u8] {
        match &self.buf {
            Buf::Heap(vec) => vec,
            Buf::Mapped(map) => &map[..self.len],
        }
    }

    /// The body read. A mapping is unmapped when the last `Bytes` of it
    /// (the cached entry, a response being sent) is dropped.
    pub fn finish(self) -> Bytes {
        match self.buf {
            Buf::Heap(mut vec) => {
                vec.shrink_to_fit();
                Bytes::from(vec)
            }
            Buf::Mapped(map) => Bytes::from_owner(map).slice(..self.len),
        }
    }
}

/// Small pages only for this process (Linux), from now on: with huge
/// pages each touched byte of a 2 MiB region keeps all of it resident. A
/// full 64 MiB cache had 35 MiB of them under a heap of 3 MiB live (mimalloc
/// asked for them; its `no_thp` feature stops that, and this covers systems
/// where THP is "always"). A bounded edge matters more than TLB misses.
pub fn small_pages_only() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!("edge: cannot turn transparent huge pages off: {e}");
    }
}

/// An anonymous mapping of `len` bytes; `None` when the system refuses one.
fn map(len: usize) -> Option<MmapMut> {
    MmapMut::map_anon(len).ok()
}

/// The bytes a stored body of `len` keeps resident: whole pages when it
/// is mapped, else its block as an allocator like mimalloc hands it out.
pub fn held(len: usize) -> usize {
    if len >= MAPPED_FROM {
        return len.div_ceil(PAGE) * PAGE;
    }
    allocated(len)
}

/// `n` bytes as mimalloc rounds them: size classes an eighth of a power
/// of two apart.
pub fn allocated(n: usize) -> usize {
    let step = (n.next_power_of_two() / 8).max(8);
    n.div_ceil(step) * step
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(declared: Option<u64>, chunks: &[usize]) -> Bytes {
        let mut body = Filling::new(declared);
        let mut at = 0u8;
        for &n in chunks {
            let chunk: Vec<u8> = (0..n).map(|i| at.wrapping_add(i as u8)).collect();
            at = at.wrapping_add(n as u8);
            body.push(&chunk);
        }
        assert_eq!(body.len(), chunks.iter().sum::<usize>());
        body.finish()
    }

    fn expected(len: usize) -> Vec<u8> {
        (0..len).map(|i| i as u8).collect()
    }

    #[test]
    fn bodies_keep_their_bytes_however_they_arrive() {
        for (declared, chunks) in [
            (None, vec![]),
            (Some(10), vec![3, 7]),
            (None, vec![1000; 5]),
            (None, vec![8192; 40]),
            (Some(300_000), vec![100_000; 3]),
            (Some(20_000), vec![16_000, 4_000]),
            (None, vec![MAPPED_FROM - 1, 1, 70_000]),
        ] {
            let len = chunks.iter().sum();
            assert_eq!(filled(declared, &chunks), expected(len), "{chunks:?}");
        }
    }

    #[test]
    fn large_bodies_are_counted_in_pages() {
        assert_eq!(held(MAPPED_FROM + 1), MAPPED_FROM + PAGE);
        assert_eq!(held(1000), 1024);
        // mimalloc's smallest classes are 8 bytes apart: 9 bytes take 16.
        assert_eq!(allocated(9), 16);
    }
}
