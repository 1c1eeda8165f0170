//! Card-side parsing of command APDUs (ISO 7816-4 cases 1 to 4, short and extended).

/// A command APDU as the card sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandApdu<'a> {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data.
    pub data: &'a [u8],
    /// Expected response length (256 or 65536 for a zero Le), `None` when absent.
    pub ne: Option<usize>,
}

impl<'a> CommandApdu<'a> {
    /// Parses `bytes`; `None` when the length fields do not add up.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let (&[cla, ins, p1, p2], body) = bytes.split_first_chunk::<4>()?;
        let (data, ne): (&[u8], Option<usize>) = match body {
            [] => (&[], None),
            [le] => (&[], Some(if *le == 0 { 256 } else { usize::from(*le) })),
            [0, hi, lo] => {
                let le = usize::from(u16::from_be_bytes([*hi, *lo]));
                (&[], Some(if le == 0 { 65536 } else { le }))
            }
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if rest.len() == lc {
                    (rest, None)
                } else if rest.len() == lc + 2 {
                    let le = usize::from(u16::from_be_bytes([rest[lc], rest[lc + 1]]));
                    (&rest[..lc], Some(if le == 0 { 65536 } else { le }))
                } else {
                    return None;
                }
            }
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                if rest.len() == lc {
                    (rest, None)
                } else if rest.len() == lc + 1 {
                    let le = rest[lc];
                    (
                        &rest[..lc],
                        Some(if le == 0 { 256 } else { usize::from(le) }),
                    )
                } else {
                    return None;
                }
            }
        };
        Some(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
        })
    }
}

/// Answers a READ BINARY of `ne` bytes at `offset` from `file` like a real card does.
pub fn read_binary(file: &[u8], offset: usize, ne: usize) -> crate::Reply {
    if offset > file.len() {
        return crate::Reply::status(0x6B00);
    }
    let end = file.len().min(offset + ne);
    let sw = if end - offset < ne { 0x6282 } else { 0x9000 };
    // A read that starts exactly at the end returns no data with 6282.
    crate::Reply::data(&file[offset..end], sw)
}
