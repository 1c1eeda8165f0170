//! A virtual eMRTD (TD3 passport) with BAC, 3DES secure messaging, EF.COM, DG1 and an
//! EF.SOD signed by a [`TestPki`].
//!
//! [`VirtualPassport::new`] has no EF.CardAccess, so readers fall back from PACE to BAC
//! (like older passports); [`VirtualPassport::with_pace`] offers PACE. Files answer READ
//! BINARY by short file identifier and by offset like a real chip (ICAO 9303-10 section
//! 3.11, ISO 7816-4): 6282 with the remaining bytes at the end of a file, and 6700 when a
//! protected answer would not fit a short response APDU.

use std::collections::BTreeMap;

use bp256::r1::{BrainpoolP256r1, ProjectivePoint, Scalar};
use chrono::NaiveDate;
use des::TdesEde2;
use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use dmrtd::crypto::aes::{AesCipher, BlockCipherMode};
use dmrtd::crypto::iso9797::mac_alg3;
use dmrtd::crypto::kdf::DeriveKey;
use dmrtd::lds::asn1_object_identifiers::{CipherAlgorithm, KeyLength};
use dmrtd::proto::can_key::CanKey;
use dmrtd::proto::dba_key::DBAKey;
use kiosk_card::EMRTD_AID;
use kiosk_card::tlv;

use crate::cards::iso14443_4_atr;
use crate::command::{CommandApdu, read_binary};
use crate::emulation::{Emulation, Reply};
use crate::pki::TestPki;

const EF_COM: u16 = 0x011E;
const EF_DG1: u16 = 0x0101;
const EF_SOD: u16 = 0x011D;
const EF_CARD_ACCESS: u16 = 0x011C;

/// id-PACE-ECDH-GM-AES-CBC-CMAC-128 (BSI TR-03110 / ICAO 9303-11).
const PACE_OID: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02];
/// Standardized domain parameter 13: brainpoolP256r1 (as on German documents).
const PACE_PARAMETER_ID: u8 = 13;

/// The keys and counter of an established session: 3DES after BAC, AES after PACE.
struct Session {
    aes: bool,
    enc: Vec<u8>,
    mac: Vec<u8>,
    ssc: u128,
}

impl Session {
    fn block(&self) -> usize {
        if self.aes { 16 } else { 8 }
    }

    fn ssc_bytes(&self) -> Vec<u8> {
        let bytes = self.ssc.to_be_bytes();
        bytes[16 - self.block()..].to_vec()
    }

    fn pad(&self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        out.push(0x80);
        while !out.len().is_multiple_of(self.block()) {
            out.push(0);
        }
        out
    }

    /// MAC over SSC || `message`, padded to the block size.
    fn mac(&self, message: &[u8]) -> Option<Vec<u8>> {
        let input = self.pad(&[&self.ssc_bytes()[..], message].concat());
        if self.aes {
            AesCipher::new(KeyLength::S128)
                .calculate_cmac(&input, &self.mac)
                .ok()
        } else {
            mac_alg3(&self.mac, &input, false).ok()
        }
    }

    fn crypt(&self, data: &[u8], encrypt: bool) -> Option<Vec<u8>> {
        if !self.aes {
            return tdes_cbc(&self.enc, data, encrypt);
        }
        let aes = AesCipher::new(KeyLength::S128);
        let iv = aes
            .encrypt(
                &self.ssc_bytes(),
                &self.enc,
                None,
                BlockCipherMode::Ecb,
                false,
            )
            .ok()?;
        if encrypt {
            aes.encrypt(data, &self.enc, Some(&iv), BlockCipherMode::Cbc, false)
                .ok()
        } else {
            aes.decrypt(data, &self.enc, Some(&iv), BlockCipherMode::Cbc)
                .ok()
        }
    }
}

/// Where a PACE run stands (chip side, generic mapping on brainpoolP256r1).
enum Pace {
    Idle,
    /// MSE:Set AT chose the password (`1` MRZ, `2` CAN).
    Chosen {
        password: u8,
    },
    NonceSent {
        nonce: Scalar,
    },
    Mapped {
        generator: ProjectivePoint,
    },
    Agreed {
        enc: Vec<u8>,
        mac: Vec<u8>,
        chip_public: Vec<u8>,
        terminal_public: Vec<u8>,
    },
}

/// A virtual passport answering BAC with the MRZ it was made from.
pub struct VirtualPassport {
    bac_enc: Vec<u8>,
    bac_mac: Vec<u8>,
    files: BTreeMap<u16, Vec<u8>>,
    in_application: bool,
    selected: Option<u16>,
    rnd_ic: Option<[u8; 8]>,
    session: Option<Session>,
    /// K_pi for the MRZ and (if PACE is offered) the CAN.
    pace_keys: Option<(Vec<u8>, Vec<u8>)>,
    pace: Pace,
    card_access: Vec<u8>,
}

impl std::fmt::Debug for VirtualPassport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualPassport").finish_non_exhaustive()
    }
}

/// Why a virtual passport could not be made.
#[derive(Debug, thiserror::Error)]
#[error("invalid TD3 MRZ for the virtual passport: {0}")]
pub struct InvalidMrz(&'static str);

impl VirtualPassport {
    /// A passport whose DG1 holds `mrz` (two TD3 lines of 44 characters, concatenated),
    /// with EF.SOD signed by `pki`'s document signer.
    pub fn new(mrz: &str, pki: &TestPki) -> Result<Self, InvalidMrz> {
        let dg1 = Self::dg1(mrz)?;
        let sod = pki.sign_sod(&[(1, &dg1)]);
        Self::with_files(mrz, dg1, sod)
    }

    /// Like [`VirtualPassport::new`] but with EF.SOD made for `signed_mrz`: DG1 then does
    /// not match the SOD (a manipulated chip).
    pub fn with_forged_dg1(mrz: &str, signed_mrz: &str, pki: &TestPki) -> Result<Self, InvalidMrz> {
        let dg1 = Self::dg1(mrz)?;
        let sod = pki.sign_sod(&[(1, &Self::dg1(signed_mrz)?)]);
        Self::with_files(mrz, dg1, sod)
    }

    fn dg1(mrz: &str) -> Result<Vec<u8>, InvalidMrz> {
        if mrz.len() != 88 || !mrz.is_ascii() {
            return Err(InvalidMrz("a TD3 MRZ has 88 ASCII characters"));
        }
        Ok(tlv::encode(0x61, &tlv::encode(0x5F1F, mrz.as_bytes())))
    }

    fn with_files(mrz: &str, dg1: Vec<u8>, sod: Vec<u8>) -> Result<Self, InvalidMrz> {
        let line2 = &mrz[44..];
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%y%m%d").map_err(|_| InvalidMrz("bad date"))
        };
        let key = DBAKey::new(
            line2[..9].trim_end_matches('<'),
            date(&line2[13..19])?,
            date(&line2[21..27])?,
            false,
        )
        .map_err(|_| InvalidMrz("bad document number"))?;
        let com = tlv::encode(
            0x60,
            &[
                tlv::encode(0x5F01, b"0107"),
                tlv::encode(0x5F36, b"040000"),
                tlv::encode(0x5C, &[0x61]),
            ]
            .concat(),
        );
        let files = BTreeMap::from([(EF_COM, com), (EF_DG1, dg1), (EF_SOD, sod)]);
        Ok(Self {
            bac_enc: key.enc_key(),
            bac_mac: key.mac_key(),
            files,
            in_application: false,
            selected: None,
            rnd_ic: None,
            session: None,
            pace_keys: None,
            pace: Pace::Idle,
            card_access: Vec::new(),
        })
    }

    /// Like [`VirtualPassport::new`], but the chip also offers PACE (ECDH generic mapping,
    /// AES-128, brainpoolP256r1) with `can` or the MRZ, announced in EF.CardAccess.
    pub fn with_pace(mrz: &str, can: &str, pki: &TestPki) -> Result<Self, InvalidMrz> {
        let mut passport = Self::new(mrz, pki)?;
        let line2 = &mrz[44..];
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%y%m%d").map_err(|_| InvalidMrz("bad date"))
        };
        let mrz_key = DBAKey::new(
            line2[..9].trim_end_matches('<'),
            date(&line2[13..19])?,
            date(&line2[21..27])?,
            true,
        )
        .map_err(|_| InvalidMrz("bad document number"))?;
        let can_key = CanKey::new(can).map_err(|_| InvalidMrz("the CAN has 6 digits"))?;
        let kpi = |key: &dyn dmrtd::proto::access_key::AccessKey| {
            key.kpi(CipherAlgorithm::Aes, KeyLength::S128)
                .map_err(|_| InvalidMrz("no PACE key"))
        };
        passport.pace_keys = Some((kpi(&mrz_key)?, kpi(&can_key)?));
        // PACEInfo ::= SEQUENCE { protocol OID, version 2, parameterId 12 }
        let pace_info = [
            tlv::encode(0x06, &PACE_OID),
            tlv::encode(0x02, &[2]),
            tlv::encode(0x02, &[PACE_PARAMETER_ID]),
        ]
        .concat();
        passport.card_access = tlv::encode(0x31, &tlv::encode(0x30, &pace_info));
        Ok(passport)
    }

    /// The length of the file with short file identifier `sfi` (EF.CardAccess 0x1C,
    /// EF.COM 0x1E, DG1 0x01, EF.SOD 0x1D), for tests and benchmarks that work out the
    /// minimum number of APDUs a read needs.
    pub fn file_len(&self, sfi: u8) -> Option<usize> {
        match sfi {
            0x1C if !self.card_access.is_empty() => Some(self.card_access.len()),
            0x1E => self.files.get(&EF_COM).map(Vec::len),
            0x01 => self.files.get(&EF_DG1).map(Vec::len),
            0x1D => self.files.get(&EF_SOD).map(Vec::len),
            _ => None,
        }
    }

    /// Handles a command after secure messaging was removed (or before BAC).
    fn execute(&mut self, command: &CommandApdu<'_>) -> (Vec<u8>, u16) {
        let protected = self.session.is_some();
        match (command.ins, command.p1) {
            (0xA4, 0x04) => {
                self.selected = None;
                self.in_application = command.data == EMRTD_AID;
                if self.in_application {
                    (Vec::new(), 0x9000)
                } else {
                    (Vec::new(), 0x6A82)
                }
            }
            (0xA4, _) => match command.data {
                [0x3F, 0x00] => {
                    self.in_application = false;
                    self.selected = None;
                    (Vec::new(), 0x9000)
                }
                [hi, lo] if self.in_application => {
                    let fid = u16::from_be_bytes([*hi, *lo]);
                    if !self.files.contains_key(&fid) {
                        return (Vec::new(), 0x6A82);
                    }
                    if !protected {
                        return (Vec::new(), 0x6982);
                    }
                    self.selected = Some(fid);
                    (Vec::new(), 0x9000)
                }
                _ => (Vec::new(), 0x6A82),
            },
            (0xB0, p1) => {
                // P1 = 100x xxxx: READ BINARY by short file identifier, offset in P2.
                if p1 & 0x80 != 0 && p1 & 0x60 != 0 {
                    return (Vec::new(), 0x6A86);
                }
                let (fid, offset) = if p1 & 0x80 != 0 {
                    if p1 & 0x1F == 0x1C && !self.in_application && !self.card_access.is_empty() {
                        self.selected = Some(EF_CARD_ACCESS);
                        return self.read_card_access(usize::from(command.p2), command.ne);
                    }
                    let fid = match p1 & 0x1F {
                        0x1E if self.in_application => EF_COM,
                        0x01 if self.in_application => EF_DG1,
                        0x1D if self.in_application => EF_SOD,
                        _ => return (Vec::new(), 0x6A82),
                    };
                    (fid, usize::from(command.p2))
                } else {
                    let Some(fid) = self.selected else {
                        return (Vec::new(), 0x6986);
                    };
                    if fid == EF_CARD_ACCESS {
                        let offset = usize::from(u16::from_be_bytes([p1 & 0x7F, command.p2]));
                        return self.read_card_access(offset, command.ne);
                    }
                    (
                        fid,
                        usize::from(u16::from_be_bytes([p1 & 0x7F, command.p2])),
                    )
                };
                if !protected {
                    return (Vec::new(), 0x6982);
                }
                self.selected = Some(fid);
                let file = self.files.get(&fid).map(Vec::as_slice).unwrap_or(&[]);
                match read_binary(file, offset, command.ne.unwrap_or(256)) {
                    Reply::Respond(mut bytes) => {
                        let sw_low = bytes.pop().unwrap_or(0);
                        let sw_high = bytes.pop().unwrap_or(0x6F);
                        (bytes, u16::from_be_bytes([sw_high, sw_low]))
                    }
                    _ => (Vec::new(), 0x6F00),
                }
            }
            (0x84, _) if self.in_application && !protected => {
                let mut rnd = [0u8; 8];
                if getrandom::fill(&mut rnd).is_err() {
                    return (Vec::new(), 0x6F00);
                }
                self.rnd_ic = Some(rnd);
                (rnd.to_vec(), 0x9000)
            }
            (0x82, _) if self.in_application && !protected => {
                self.external_authenticate(command.data)
            }
            (0x22, 0xC1) if !protected && self.pace_keys.is_some() => self.mse_set_at(command.data),
            (0x86, _) if !protected && self.pace_keys.is_some() => {
                self.general_authenticate(command.data)
            }
            _ => (Vec::new(), 0x6D00),
        }
    }

    /// BAC mutual authentication, chip side (ICAO 9303-11 section 4.3).
    fn external_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        let fail = (Vec::new(), 0x6300);
        let (Some(rnd_ic), 40) = (self.rnd_ic.take(), data.len()) else {
            return fail;
        };
        let (e_ifd, m_ifd) = data.split_at(32);
        if mac_alg3(&self.bac_mac, e_ifd, true).ok().as_deref() != Some(m_ifd) {
            return fail;
        }
        let Some(s) = tdes_cbc(&self.bac_enc, e_ifd, false) else {
            return fail;
        };
        if s[8..16] != rnd_ic {
            return fail;
        }
        let mut k_ic = [0u8; 16];
        if getrandom::fill(&mut k_ic).is_err() {
            return (Vec::new(), 0x6F00);
        }
        let r = [&rnd_ic[..], &s[..8], &k_ic[..]].concat();
        let Some(e_ic) = tdes_cbc(&self.bac_enc, &r, true) else {
            return fail;
        };
        let Ok(m_ic) = mac_alg3(&self.bac_mac, &e_ic, true) else {
            return fail;
        };
        let seed: Vec<u8> = s[16..].iter().zip(k_ic).map(|(a, b)| a ^ b).collect();
        let ssc = u128::from(u64::from_be_bytes([
            rnd_ic[4], rnd_ic[5], rnd_ic[6], rnd_ic[7], s[4], s[5], s[6], s[7],
        ]));
        self.session = Some(Session {
            aes: false,
            enc: DeriveKey::des_ede(&seed, false),
            mac: DeriveKey::iso9797_mac_alg3(&seed),
            ssc,
        });
        ([e_ic, m_ic].concat(), 0x9000)
    }

    /// Unwraps a secure-messaging command, executes it and wraps the answer.
    fn secure_messaging(&mut self, command: &CommandApdu<'_>) -> Reply {
        let Some(unwrapped) = self.unwrap_command(command) else {
            // ICAO 9303-11: a wrong MAC or structure ends the session.
            self.session = None;
            return Reply::status(0x6988);
        };
        let (plain_data, ne) = unwrapped;
        let inner = CommandApdu {
            cla: 0x00,
            ins: command.ins,
            p1: command.p1,
            p2: command.p2,
            data: &plain_data,
            ne,
        };
        let (data, sw) = self.execute(&inner);
        // Without extended length support the protected answer must fit a short response
        // (256 bytes). A READ BINARY whose protected answer would not fit is refused with
        // 6700, as real chips do, and nothing is read.
        if data.len() > max_protected_answer(self.session.as_ref().map_or(8, Session::block))
            || command.ne.is_some_and(|ne| ne > 256)
        {
            return self.wrap_response(&[], 0x6700);
        }
        self.wrap_response(&data, sw)
    }

    fn unwrap_command(&mut self, command: &CommandApdu<'_>) -> Option<(Vec<u8>, Option<usize>)> {
        let session = self.session.as_mut()?;
        session.ssc = session.ssc.wrapping_add(1);
        let objects = tlv::parse_all(command.data).ok()?;
        let mut message = session.pad(&[command.cla, command.ins, command.p1, command.p2]);
        let mut cryptogram = None;
        let mut ne = None;
        let mut mac = None;
        for object in &objects {
            match object.tag {
                0x87 => {
                    message.extend_from_slice(&tlv::encode(0x87, object.value));
                    cryptogram = Some(object.value.get(1..)?.to_vec());
                }
                0x97 => {
                    message.extend_from_slice(&tlv::encode(0x97, object.value));
                    ne = Some(match object.value {
                        [0] => 256,
                        [n] => usize::from(*n),
                        [0, 0] => 65536,
                        [hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])),
                        _ => return None,
                    });
                }
                0x8E => mac = Some(object.value),
                _ => return None,
            }
        }
        if session.mac(&message).as_deref() != Some(mac?) {
            return None;
        }
        let plain = match cryptogram {
            Some(cryptogram) => unpad(&session.crypt(&cryptogram, false)?)?.to_vec(),
            None => Vec::new(),
        };
        Some((plain, ne))
    }

    fn wrap_response(&mut self, data: &[u8], sw: u16) -> Reply {
        let Some(session) = self.session.as_mut() else {
            return Reply::status(0x6988);
        };
        session.ssc = session.ssc.wrapping_add(1);
        let mut body = Vec::new();
        if !data.is_empty() {
            let Some(encrypted) = session.crypt(&session.pad(data), true) else {
                return Reply::status(0x6F00);
            };
            body.extend_from_slice(&tlv::encode(0x87, &[&[0x01], &encrypted[..]].concat()));
        }
        body.extend_from_slice(&tlv::encode(0x99, &sw.to_be_bytes()));
        let Some(mac) = session.mac(&body) else {
            return Reply::status(0x6F00);
        };
        body.extend_from_slice(&tlv::encode(0x8E, &mac));
        Reply::data(&body, 0x9000)
    }

    /// EF.CardAccess is readable without secure messaging (it says how to start it).
    fn read_card_access(&self, offset: usize, ne: Option<usize>) -> (Vec<u8>, u16) {
        match read_binary(&self.card_access, offset, ne.unwrap_or(256)) {
            Reply::Respond(mut bytes) => {
                let low = bytes.pop().unwrap_or(0);
                let high = bytes.pop().unwrap_or(0x6F);
                (bytes, u16::from_be_bytes([high, low]))
            }
            _ => (Vec::new(), 0x6F00),
        }
    }

    /// MSE:Set AT for PACE: protocol OID (80) and password reference (83).
    fn mse_set_at(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        let Ok(objects) = tlv::parse_all(data) else {
            return (Vec::new(), 0x6A80);
        };
        let oid = objects.iter().find(|o| o.tag == 0x80).map(|o| o.value);
        let password = objects.iter().find(|o| o.tag == 0x83).map(|o| o.value);
        match (oid, password) {
            (Some(oid), Some([password @ (1 | 2)])) if oid == PACE_OID => {
                self.pace = Pace::Chosen {
                    password: *password,
                };
                (Vec::new(), 0x9000)
            }
            _ => (Vec::new(), 0x6A80),
        }
    }

    /// GENERAL AUTHENTICATE steps 1 to 4 of PACE (ICAO 9303-11 section 4.4).
    fn general_authenticate(&mut self, data: &[u8]) -> (Vec<u8>, u16) {
        let fail = |pace: &mut Pace| {
            *pace = Pace::Idle;
            (Vec::new(), 0x6300)
        };
        let Some((mrz_kpi, can_kpi)) = self.pace_keys.clone() else {
            return (Vec::new(), 0x6985);
        };
        let Ok(Some(dynamic)) = tlv::find(data, 0x7C) else {
            return fail(&mut self.pace);
        };
        let Ok(inner) = dynamic.children() else {
            return fail(&mut self.pace);
        };
        let value = |tag: u32| inner.iter().find(|o| o.tag == tag).map(|o| o.value);
        match std::mem::replace(&mut self.pace, Pace::Idle) {
            Pace::Chosen { password } if inner.is_empty() => {
                let kpi = if password == 2 { can_kpi } else { mrz_kpi };
                let mut nonce = [0u8; 16];
                if getrandom::fill(&mut nonce).is_err() {
                    return (Vec::new(), 0x6F00);
                }
                let aes = AesCipher::new(KeyLength::S128);
                let Ok(encrypted) =
                    aes.encrypt(&nonce, &kpi, Some(&[0; 16]), BlockCipherMode::Cbc, false)
                else {
                    return fail(&mut self.pace);
                };
                let mut repr = [0u8; 32];
                repr[16..].copy_from_slice(&nonce);
                let Some(nonce) = scalar(repr) else {
                    return fail(&mut self.pace);
                };
                self.pace = Pace::NonceSent { nonce };
                (tlv::encode(0x7C, &tlv::encode(0x80, &encrypted)), 0x9000)
            }
            Pace::NonceSent { nonce } => {
                let (Some(terminal), Some(secret)) = (value(0x81).and_then(point), random_scalar())
                else {
                    return fail(&mut self.pace);
                };
                let shared = terminal * secret;
                let generator = base_point() * nonce + shared;
                self.pace = Pace::Mapped { generator };
                let Some(public) = encode_point(base_point() * secret) else {
                    return fail(&mut self.pace);
                };
                (tlv::encode(0x7C, &tlv::encode(0x82, &public)), 0x9000)
            }
            Pace::Mapped { generator } => {
                let (Some(terminal_bytes), Some(secret)) = (value(0x83), random_scalar()) else {
                    return fail(&mut self.pace);
                };
                let Some(terminal) = point(terminal_bytes) else {
                    return fail(&mut self.pace);
                };
                let (Some(chip_public), Some(shared)) = (
                    encode_point(generator * secret),
                    encode_point(terminal * secret),
                ) else {
                    return fail(&mut self.pace);
                };
                let shared_x = &shared[1..33];
                self.pace = Pace::Agreed {
                    enc: DeriveKey::aes128(shared_x, false),
                    mac: DeriveKey::cmac128(shared_x),
                    chip_public: chip_public.clone(),
                    terminal_public: terminal_bytes.to_vec(),
                };
                (tlv::encode(0x7C, &tlv::encode(0x84, &chip_public)), 0x9000)
            }
            Pace::Agreed {
                enc,
                mac,
                chip_public,
                terminal_public,
            } => {
                let token = |public: &[u8]| {
                    let input = tlv::encode(
                        0x7F49,
                        &[tlv::encode(0x06, &PACE_OID), tlv::encode(0x86, public)].concat(),
                    );
                    AesCipher::new(KeyLength::S128)
                        .calculate_cmac(&input, &mac)
                        .ok()
                };
                if value(0x85).is_none() || token(&chip_public).as_deref() != value(0x85) {
                    return fail(&mut self.pace);
                }
                let Some(chip_token) = token(&terminal_public) else {
                    return fail(&mut self.pace);
                };
                self.session = Some(Session {
                    aes: true,
                    enc,
                    mac,
                    ssc: 0,
                });
                (tlv::encode(0x7C, &tlv::encode(0x86, &chip_token)), 0x9000)
            }
            _ => fail(&mut self.pace),
        }
    }
}

/// The largest plain answer whose secure-messaging form (DO'87' with padding, DO'99',
/// DO'8E') fits 256 bytes: 223 bytes with AES (16-byte blocks), 231 with 3DES.
fn max_protected_answer(block: usize) -> usize {
    (0..=256)
        .rev()
        .find(|&n| {
            let value = 1 + (n / block + 1) * block;
            let length_bytes = if value < 0x80 { 1 } else { 2 };
            1 + length_bytes + value + 4 + 10 <= 256
        })
        .unwrap_or(0)
}

type PublicKey = bp256::elliptic_curve::PublicKey<BrainpoolP256r1>;

fn base_point() -> ProjectivePoint {
    <ProjectivePoint as bp256::elliptic_curve::group::Group>::generator()
}

fn scalar(repr: [u8; 32]) -> Option<Scalar> {
    use bp256::elliptic_curve::ff::PrimeField;
    Scalar::from_repr(repr.into()).into_option()
}

/// Decodes an uncompressed point; rejects points not on the curve and the identity.
fn point(bytes: &[u8]) -> Option<ProjectivePoint> {
    PublicKey::from_sec1_bytes(bytes)
        .ok()
        .map(|key| key.to_projective())
}

fn encode_point(point: ProjectivePoint) -> Option<Vec<u8>> {
    PublicKey::from_affine(point.to_affine())
        .ok()
        .map(|key| key.to_sec1_bytes().to_vec())
}

fn random_scalar() -> Option<Scalar> {
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        if let Some(value) = scalar(bytes)
            && value != Scalar::ZERO
        {
            return Some(value);
        }
    }
    None
}

fn unpad(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().rposition(|&b| b != 0)?;
    (data[end] == 0x80).then_some(&data[..end])
}

/// Two-key 3DES in CBC mode with a zero IV, as BAC and its secure messaging use it.
fn tdes_cbc(key: &[u8], data: &[u8], encrypt: bool) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(8) {
        return None;
    }
    let cipher = TdesEde2::new_from_slice(key).ok()?;
    let mut previous = [0u8; 8];
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks_exact(8) {
        let mut block = GenericArray::clone_from_slice(chunk);
        if encrypt {
            for (byte, prev) in block.iter_mut().zip(previous) {
                *byte ^= prev;
            }
            cipher.encrypt_block(&mut block);
            previous.copy_from_slice(&block);
            out.extend_from_slice(&block);
        } else {
            cipher.decrypt_block(&mut block);
            for (byte, prev) in block.iter_mut().zip(previous) {
                *byte ^= prev;
            }
            previous.copy_from_slice(chunk);
            out.extend_from_slice(&block);
        }
    }
    Some(out)
}

impl Emulation for VirtualPassport {
    fn atr(&self) -> Vec<u8> {
        iso14443_4_atr(&[
            0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x03, 0x00, 0xEF, 0x12, 0x0F, 0xFF, 0x82, 0x90,
            0x00,
        ])
    }

    fn reset(&mut self) {
        self.in_application = false;
        self.selected = None;
        self.rnd_ic = None;
        self.session = None;
        self.pace = Pace::Idle;
    }

    fn process(&mut self, command: &[u8]) -> Reply {
        let Some(command) = CommandApdu::parse(command) else {
            return Reply::status(0x6700);
        };
        if command.cla == 0xFF {
            return Reply::status(0x6E00);
        }
        if command.cla & 0x0C == 0x0C {
            return self.secure_messaging(&command);
        }
        if self.session.is_some() && command.ins != 0xA4 {
            // Plain commands inside a session end it.
            self.session = None;
            return Reply::status(0x6987);
        }
        if command.ins == 0xA4 && command.p1 == 0x04 {
            self.session = None;
        }
        let (data, sw) = self.execute(&command);
        Reply::data(&data, sw)
    }
}
