//! Tar headers written byte for byte: names are stored exactly as given (`./x`, `/bin/`), as
//! docker's archives have them and its client expects, which the `tar` crate's path setters
//! would normalise away. Names and link targets too long for the header go in GNU long-name
//! entries, extended attributes in a PAX header.

use std::io::{self, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
/// Size of the name and link name fields of a header.
const NAME_FIELD: usize = 100;
const LONG_NAME: &[u8] = b"././@LongLink";
const PAX_NAME: &[u8] = b"././@PaxHeader";

/// What an entry's header says, apart from its kind and names.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Attrs {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) mtime: u64,
    pub(super) size: u64,
    pub(super) dev: (u32, u32),
}

/// Writes the header blocks of one entry: PAX records and long names first if needed.
pub(super) fn write_header(
    out: &mut dyn Write,
    kind: EntryType,
    name: &[u8],
    link: Option<&[u8]>,
    attrs: &Attrs,
    pax: &[(&str, &[u8])],
) -> io::Result<()> {
    if !pax.is_empty() {
        let records = pax_records(pax);
        let mut h = base(EntryType::XHeader, records.len() as u64, attrs);
        put(&mut h.as_old_mut().name, PAX_NAME);
        h.set_cksum();
        out.write_all(h.as_bytes())?;
        write_data(out, &records)?;
    }
    if name.len() > NAME_FIELD {
        long_name(out, EntryType::GNULongName, name)?;
    }
    if let Some(l) = link.filter(|l| l.len() > NAME_FIELD) {
        long_name(out, EntryType::GNULongLink, l)?;
    }
    let mut h = base(kind, attrs.size, attrs);
    put(&mut h.as_old_mut().name, name);
    if let Some(l) = link {
        put(&mut h.as_old_mut().linkname, l);
    }
    if matches!(kind, EntryType::Char | EntryType::Block) {
        h.set_device_major(attrs.dev.0)?;
        h.set_device_minor(attrs.dev.1)?;
    }
    h.set_cksum();
    out.write_all(h.as_bytes())
}

/// Pads an entry's content, `len` bytes already written, to a whole block.
pub(super) fn pad(out: &mut dyn Write, len: u64) -> io::Result<()> {
    let rem = (len % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

/// The two zero blocks that end an archive.
pub(super) fn finish(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(&[0u8; 2 * BLOCK])
}

fn write_data(out: &mut dyn Write, data: &[u8]) -> io::Result<()> {
    out.write_all(data)?;
    pad(out, data.len() as u64)
}

fn base(kind: EntryType, size: u64, attrs: &Attrs) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(attrs.mode & 0o7777);
    h.set_uid(u64::from(attrs.uid));
    h.set_gid(u64::from(attrs.gid));
    h.set_mtime(attrs.mtime);
    h
}

/// Copies `value` into a header field; a longer value is cut (its full text went into a
/// long-name entry before).
fn put(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn long_name(out: &mut dyn Write, kind: EntryType, value: &[u8]) -> io::Result<()> {
    let mut data = value.to_vec();
    data.push(0);
    let mut h = base(kind, data.len() as u64, &Attrs::default());
    put(&mut h.as_old_mut().name, LONG_NAME);
    h.set_cksum();
    out.write_all(h.as_bytes())?;
    write_data(out, &data)
}

/// PAX records, `<len> <key>=<value>\n`, where `<len>` counts the whole record, itself
/// included.
fn pax_records(pax: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in pax {
        let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len.to_string().len() + rest > len {
            len += 1;
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let r = pax_records(&[("a", b"b")]);
        assert_eq!(r, b"6 a=b\n");
        let long = vec![b'x'; 95];
        let r = pax_records(&[("k", &long)]);
        assert_eq!(r.len(), 102);
        assert!(r.starts_with(b"102 k="));
    }

    #[test]
    fn names_are_kept_verbatim_and_long_ones_survive() {
        let mut out = Vec::new();
        let long = format!("./{}/file", "d".repeat(150));
        for name in ["./x", "/bin/", long.as_str()] {
            let attrs = Attrs {
                mode: 0o644,
                ..Attrs::default()
            };
            write_header(
                &mut out,
                EntryType::Regular,
                name.as_bytes(),
                None,
                &attrs,
                &[],
            )
            .expect("header");
        }
        finish(&mut out).expect("finish");
        let mut ar = tar::Archive::new(out.as_slice());
        let names: Vec<Vec<u8>> = ar
            .entries()
            .expect("entries")
            .map(|e| e.expect("entry").path_bytes().into_owned())
            .collect();
        assert_eq!(
            names,
            [b"./x".to_vec(), b"/bin/".to_vec(), long.into_bytes()]
        );
    }
}
