//! A walk over an element list: id byte, length byte, that many bytes of data, repeated to
//! the end of the list.

use std::iter::FusedIterator;

use super::IeError;

/// Iterates over `(id, data)` of each element of a list, stopping at the first element whose
/// length runs past the end of the list. Nothing after such an element can be located (its
/// successor's position depends on the bad length), so the walk ends there and
/// [`Elements::malformed`] says so; the elements before it were well formed and were yielded.
#[derive(Clone, Debug)]
pub struct Elements<'a> {
    /// What is left to walk.
    rest: &'a [u8],
    /// Length of the whole list, to turn `rest` back into an offset.
    len: usize,
    /// Set when the walk stopped at a malformed element.
    malformed: bool,
}

impl<'a> Elements<'a> {
    /// A walk over `list`, which holds nothing but elements.
    pub fn new(list: &'a [u8]) -> Elements<'a> {
        Elements {
            rest: list,
            len: list.len(),
            malformed: false,
        }
    }

    /// True once the walk has stopped at an element that runs past the end of the list (or a
    /// single byte left over at its end).
    pub fn malformed(&self) -> bool {
        self.malformed
    }

    /// Offset in the list of the next element to read; when the walk stopped at a malformed
    /// element, where that element starts.
    pub fn offset(&self) -> usize {
        self.len - self.rest.len()
    }

    /// Why the walk stopped early, if it did.
    pub fn error(&self) -> Option<IeError> {
        self.malformed.then(|| IeError::ElementOverrun {
            offset: self.offset(),
        })
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = (u8, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let [id, len, tail @ ..] = self.rest else {
            self.malformed |= !self.rest.is_empty();
            return None;
        };
        let Some((data, next)) = tail.split_at_checked(*len as usize) else {
            self.malformed = true;
            return None;
        };
        self.rest = next;
        Some((*id, data))
    }
}

impl FusedIterator for Elements<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_a_well_formed_list() {
        let list = [0, 3, b'a', b'b', b'c', 3, 1, 6, 221, 0];
        let mut e = Elements::new(&list);
        assert_eq!(e.next(), Some((0, &b"abc"[..])));
        assert_eq!(e.next(), Some((3, &[6u8][..])));
        assert_eq!(e.next(), Some((221, &[][..])));
        assert_eq!(e.next(), None);
        assert!(!e.malformed());
        assert_eq!(e.error(), None);
        assert_eq!(e.offset(), list.len());
        assert_eq!(Elements::new(&[]).count(), 0);
    }

    #[test]
    fn stops_at_an_overrun_and_says_where() {
        // The second element declares 5 bytes with 2 left.
        let list = [0, 1, b'x', 48, 5, 1, 0];
        let mut e = Elements::new(&list);
        assert_eq!(e.next(), Some((0, &b"x"[..])));
        assert_eq!(e.next(), None);
        assert!(e.malformed());
        assert_eq!(e.error(), Some(IeError::ElementOverrun { offset: 3 }));
        // Fused: asking again changes nothing.
        assert_eq!(e.next(), None);
        assert_eq!(e.offset(), 3);
    }

    #[test]
    fn a_trailing_byte_is_malformed() {
        let mut e = Elements::new(&[0, 0, 7]);
        assert_eq!(e.next(), Some((0, &[][..])));
        assert_eq!(e.next(), None);
        assert_eq!(e.error(), Some(IeError::ElementOverrun { offset: 2 }));
        let mut e = Elements::new(&[7]);
        assert_eq!(e.next(), None);
        assert!(e.malformed());
    }

    #[test]
    fn every_cut_of_a_list_is_read_up_to_the_cut() {
        let list = [0, 2, b'h', b'i', 1, 1, 0x82, 3, 1, 11];
        let ends = [0, 4, 7, 10]; // element boundaries
        for cut in 0..=list.len() {
            let mut e = Elements::new(&list[..cut]);
            let n = e.by_ref().count();
            assert_eq!(n, ends.iter().filter(|&&b| b != 0 && b <= cut).count());
            assert_eq!(e.malformed(), !ends.contains(&cut), "cut {cut}");
        }
    }
}
