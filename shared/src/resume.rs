//! What a browser tab keeps so that a page reload rejoins the same session.
//!
//! A reload loses every key in memory. The tab keeps just enough in
//! `sessionStorage` (per tab, gone when the tab closes, cleared on hang-up and
//! quick exit) to take its seat at the relay again and to run a fresh,
//! PSK-bound handshake with the same counsellor: a new safety code follows.
//! No channel key, media key or private key is ever stored.
//!
//! Spec: docs/PROTOCOL.md, "Rejoining after a reload".

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

#[cfg(test)]
mod equivalence;

use crate::json::{self, JsonError, ObjectWriter, Value, string_of, u32_of};

use crate::link::{Invite, SessionSecret};
use crate::wire::{MemberId, ResumeSecret};

/// Why a stored snapshot was not usable (then the tab starts afresh).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error("stored session is not valid JSON: {0}")]
    Json(String),
    #[error("stored session has a malformed {0}")]
    Field(&'static str),
}

/// A guest's snapshot: the invite (its PSK binds the new handshake), the
/// name it knocked with, its seat and the secret that proves the seat.
#[derive(Clone)]
pub struct GuestResume {
    pub invite: Invite,
    pub name: String,
    pub member: MemberId,
    pub resume_secret: ResumeSecret,
    /// Named in a `resume` the relay has not answered yet (see `Session::reconnect`).
    pub next_resume_secret: Option<ResumeSecret>,
}

/// The counsellor's snapshot: the session secret (room and host token follow
/// from it), every invite with the seat that used it, if any, and the
/// counsellor's own decisions: which seats she admitted and which she turned
/// away (the relay's word on membership is never taken for them).
pub struct HostResume {
    pub secret: SessionSecret,
    pub next_invite: u32,
    pub invites: Vec<StoredInvite>,
    /// Seats the counsellor admitted (her click, not the relay's list).
    pub admitted: Vec<MemberId>,
    /// Seats the counsellor turned away: they stay turned away.
    pub rejected: Vec<MemberId>,
}

/// One invite the counsellor made.
#[derive(Clone)]
pub struct StoredInvite {
    pub id: u32,
    pub invite: Invite,
    /// The seat of the guest who knocked with it; `None` while unused.
    pub member: Option<MemberId>,
}

/// What either role keeps.
pub enum Resume {
    Guest(GuestResume),
    Host(HostResume),
}

#[derive(Zeroize, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
enum Role {
    Guest,
    Host,
}

/// One flat JSON object for both roles (a plain struct reads with far less
/// WebAssembly than an internally tagged enum).
#[derive(Zeroize, ZeroizeOnDrop, Default)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
struct Stored {
    role: Option<Role>,
    // Guest
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    invite: Option<String>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    name: Option<String>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    member: Option<u32>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    resume_secret: Option<String>,
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
    next_resume_secret: Option<String>,
    // Host
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    secret: Option<String>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    next_invite: Option<u32>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    invites: Option<Vec<StoredInviteJson>>,
    // Absent in snapshots written before issue 12: then nobody counts as
    // admitted, and returning guests knock in the lobby again.
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
    admitted: Option<Vec<u32>>,
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
    rejected: Option<Vec<u32>>,
}

/// Unknown fields of an invite entry are ignored (as they always were).
#[derive(Zeroize, ZeroizeOnDrop)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
struct StoredInviteJson {
    id: u32,
    invite: String,
    member: Option<u32>,
}

fn seats_of(value: Value) -> Result<Vec<u32>, JsonError> {
    value.array_of(u32_of)
}

impl Stored {
    fn read(text: &str) -> Result<Stored, JsonError> {
        let mut o = json::parse(text)?.into_object()?;
        let stored = Stored {
            role: o.optional("role", |v| match v.as_str()? {
                "guest" => Ok(Role::Guest),
                "host" => Ok(Role::Host),
                _ => Err(JsonError("unknown role")),
            })?,
            invite: o.optional("invite", string_of)?,
            name: o.optional("name", string_of)?,
            member: o.optional("member", u32_of)?,
            resume_secret: o.optional("resume_secret", string_of)?,
            next_resume_secret: o.optional("next_resume_secret", string_of)?,
            secret: o.optional("secret", string_of)?,
            next_invite: o.optional("next_invite", u32_of)?,
            invites: o.optional("invites", |v| {
                v.array_of(|v| {
                    let mut o = v.into_object()?;
                    Ok(StoredInviteJson {
                        id: o.required("id", u32_of)?,
                        invite: o.required("invite", string_of)?,
                        member: o.optional("member", u32_of)?,
                    })
                })
            })?,
            admitted: o.optional("admitted", seats_of)?,
            rejected: o.optional("rejected", seats_of)?,
        };
        o.end()?;
        Ok(stored)
    }

    /// More than the snapshot's JSON can take, so the buffer never grows: a
    /// grown buffer would free an unwiped copy of the secrets written so far.
    /// Fixed fields (a 64-character name of 4-byte characters, links, three
    /// secrets) fit in 1 KiB; an invite entry in 256 B, a seat in 16 B.
    fn capacity(&self) -> usize {
        let invites = self.invites.as_ref().map_or(0, Vec::len);
        let seats = [&self.admitted, &self.rejected]
            .iter()
            .map(|s| s.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
        1024 + 256 * invites + 16 * seats
    }

    fn write(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(self.capacity()));
        let mut w = ObjectWriter::new(&mut out);
        match self.role {
            Some(Role::Guest) => w.str("role", "guest"),
            Some(Role::Host) => w.str("role", "host"),
            None => w.str_or_null("role", None),
        };
        for (key, value) in [("invite", &self.invite), ("name", &self.name)] {
            if let Some(value) = value {
                w.str(key, value);
            }
        }
        if let Some(member) = self.member {
            w.u64("member", u64::from(member));
        }
        let secrets = [
            ("resume_secret", &self.resume_secret),
            ("next_resume_secret", &self.next_resume_secret),
            ("secret", &self.secret),
        ];
        for (key, value) in secrets {
            if let Some(value) = value {
                w.str(key, value);
            }
        }
        if let Some(next) = self.next_invite {
            w.u64("next_invite", u64::from(next));
        }
        if let Some(invites) = &self.invites {
            w.array("invites", invites, |out, invite| {
                let mut w = ObjectWriter::new(out);
                w.u64("id", u64::from(invite.id))
                    .str("invite", &invite.invite)
                    .u64_or_null("member", invite.member.map(u64::from));
                w.end();
            });
        }
        for (key, seats) in [("admitted", &self.admitted), ("rejected", &self.rejected)] {
            if let Some(seats) = seats {
                w.array(key, seats, |out, seat| {
                    json::write_u64(out, u64::from(*seat))
                });
            }
        }
        w.end();
        out
    }
}

impl Resume {
    /// The JSON kept in `sessionStorage` (as secret as the link itself).
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut stored = Stored::default();
        match self {
            Resume::Guest(g) => {
                stored.role = Some(Role::Guest);
                stored.invite = Some(g.invite.fragment().to_string());
                stored.name = Some(g.name.clone());
                stored.member = Some(g.member.0);
                stored.resume_secret = Some(g.resume_secret.to_base64());
                stored.next_resume_secret = g.next_resume_secret.as_ref().map(|s| s.to_base64());
            }
            Resume::Host(h) => {
                stored.role = Some(Role::Host);
                stored.secret = Some(URL_SAFE_NO_PAD.encode(h.secret.as_bytes()));
                stored.next_invite = Some(h.next_invite);
                stored.invites = Some(
                    h.invites
                        .iter()
                        .map(|i| StoredInviteJson {
                            id: i.id,
                            invite: i.invite.fragment().to_string(),
                            member: i.member.map(|m| m.0),
                        })
                        .collect(),
                );
                stored.admitted = Some(h.admitted.iter().map(|m| m.0).collect());
                stored.rejected = Some(h.rejected.iter().map(|m| m.0).collect());
            }
        }
        stored.write()
    }

    /// Reads what [`Resume::to_json`] wrote.
    pub fn from_json(json: &str) -> Result<Resume, ResumeError> {
        let stored = Stored::read(json).map_err(|e| ResumeError::Json(e.0.to_owned()))?;
        let field = |name: &'static str| ResumeError::Field(name);
        match stored.role {
            Some(Role::Guest) => Ok(Resume::Guest(GuestResume {
                invite: Invite::parse(stored.invite.as_deref().ok_or(field("invite"))?)
                    .map_err(|_| field("invite"))?,
                name: stored.name.clone().ok_or(field("name"))?,
                member: MemberId(stored.member.ok_or(field("member"))?),
                resume_secret: ResumeSecret::from_base64(
                    stored
                        .resume_secret
                        .as_deref()
                        .ok_or(field("resume secret"))?,
                )
                .map_err(|_| field("resume secret"))?,
                next_resume_secret: stored
                    .next_resume_secret
                    .as_deref()
                    .map(ResumeSecret::from_base64)
                    .transpose()
                    .map_err(|_| field("next resume secret"))?,
            })),
            Some(Role::Host) => {
                let secret = stored.secret.as_deref().ok_or(field("session secret"))?;
                let bytes = Zeroizing::new(
                    URL_SAFE_NO_PAD
                        .decode(secret)
                        .map_err(|_| field("session secret"))?,
                );
                let bytes: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| field("session secret"))?;
                let secret = SessionSecret::from_bytes(bytes);
                let invites = stored.invites.as_deref().ok_or(field("invites"))?;
                let mut out = Vec::with_capacity(invites.len());
                for stored in invites {
                    let invite =
                        Invite::parse(&stored.invite).map_err(|_| ResumeError::Field("invite"))?;
                    if invite.room_id() != secret.room_id() {
                        return Err(ResumeError::Field("invite room"));
                    }
                    out.push(StoredInvite {
                        id: stored.id,
                        invite,
                        member: stored.member.map(MemberId),
                    });
                }
                Ok(Resume::Host(HostResume {
                    secret,
                    next_invite: stored.next_invite.ok_or(field("next invite"))?,
                    invites: out,
                    admitted: seats(&stored.admitted),
                    rejected: seats(&stored.rejected),
                }))
            }
            None => Err(field("role")),
        }
    }
}

fn seats(stored: &Option<Vec<u32>>) -> Vec<MemberId> {
    stored
        .as_deref()
        .unwrap_or_default()
        .iter()
        .copied()
        .map(MemberId)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn host() -> HostResume {
        let secret = SessionSecret::generate(&mut OsRng);
        let used = secret.new_invite(&mut OsRng);
        let open = secret.new_invite(&mut OsRng);
        HostResume {
            secret,
            next_invite: 3,
            invites: vec![
                StoredInvite {
                    id: 1,
                    invite: used,
                    member: Some(MemberId(7)),
                },
                StoredInvite {
                    id: 2,
                    invite: open,
                    member: None,
                },
            ],
            admitted: vec![MemberId(7)],
            rejected: vec![MemberId(8)],
        }
    }

    #[test]
    fn a_host_snapshot_reads_back_unchanged() {
        let stored = host();
        let json = Resume::Host(stored).to_json();
        let Ok(Resume::Host(back)) = Resume::from_json(&json) else {
            panic!("reads back as a host snapshot");
        };
        assert_eq!(back.next_invite, 3);
        assert_eq!(back.invites.len(), 2);
        assert_eq!(back.invites[0].member, Some(MemberId(7)));
        assert_eq!(back.invites[1].member, None);
        assert_eq!(back.admitted, vec![MemberId(7)]);
        assert_eq!(back.rejected, vec![MemberId(8)]);
        assert_eq!(*Resume::Host(back).to_json(), *json);
    }

    /// The snapshot holds secrets: its buffer must never grow (a grown
    /// buffer frees an unwiped copy), also with many invites and seats.
    #[test]
    fn snapshots_are_written_without_growing_their_buffer() {
        let mut many = host();
        let secret = SessionSecret::generate(&mut OsRng);
        many.invites = (0..40)
            .map(|i| StoredInvite {
                id: u32::MAX - i,
                invite: secret.new_invite(&mut OsRng),
                member: Some(MemberId(u32::MAX)),
            })
            .collect();
        many.admitted = vec![MemberId(u32::MAX); 40];
        many.rejected = vec![MemberId(u32::MAX); 40];
        let json = Resume::Host(many).to_json();
        assert_eq!(json.capacity(), 1024 + 256 * 40 + 16 * 80);

        let guest = GuestResume {
            invite: secret.new_invite(&mut OsRng),
            name: "\u{10FFFF}".repeat(crate::signal::MAX_NAME_CHARS),
            member: MemberId(u32::MAX),
            resume_secret: ResumeSecret([5; 32]),
            next_resume_secret: Some(ResumeSecret([6; 32])),
        };
        let json = Resume::Guest(guest).to_json();
        assert!(json.len() > 256, "a long name");
        assert_eq!(json.capacity(), 1024);
    }

    #[test]
    fn a_host_snapshot_from_before_the_seat_decisions_reads_with_none_admitted() {
        let json = Resume::Host(host()).to_json();
        let old = json
            .replace(",\"admitted\":[7]", "")
            .replace(",\"rejected\":[8]", "");
        assert_ne!(old, *json, "both fields were there to strip");
        let Ok(Resume::Host(back)) = Resume::from_json(&old) else {
            panic!("an older snapshot still reads");
        };
        assert!(back.admitted.is_empty() && back.rejected.is_empty());
    }

    #[test]
    fn a_guest_snapshot_reads_back_unchanged() {
        let invite = SessionSecret::generate(&mut OsRng).new_invite(&mut OsRng);
        let stored = GuestResume {
            invite,
            name: "Mira".into(),
            member: MemberId(9),
            resume_secret: ResumeSecret([5; 32]),
            next_resume_secret: Some(ResumeSecret([6; 32])),
        };
        let json = Resume::Guest(stored).to_json();
        let Ok(Resume::Guest(back)) = Resume::from_json(&json) else {
            panic!("reads back as a guest snapshot");
        };
        assert_eq!(back.name, "Mira");
        assert_eq!(
            back.next_resume_secret.as_ref().map(|s| *s.as_bytes()),
            Some([6; 32])
        );
        assert_eq!(back.member, MemberId(9));
        assert_eq!(back.resume_secret.as_bytes(), &[5; 32]);
    }

    #[test]
    fn a_damaged_snapshot_is_refused() {
        let json = Resume::Host(host()).to_json();
        assert!(matches!(
            Resume::from_json("not json"),
            Err(ResumeError::Json(_))
        ));
        assert_eq!(
            Resume::from_json("{}").err(),
            Some(ResumeError::Field("role"))
        );
        assert!(matches!(
            Resume::from_json(r#"{"role":"host","extra":1}"#),
            Err(ResumeError::Json(_))
        ));
        let cut = &json[..json.len() / 2];
        assert!(Resume::from_json(cut).is_err());
        let bad_secret = json.replacen("\"secret\":\"", "\"secret\":\"!", 1);
        assert_eq!(
            Resume::from_json(&bad_secret).err(),
            Some(ResumeError::Field("session secret"))
        );
    }

    #[test]
    fn an_invite_of_another_room_is_refused() {
        let mut stored = host();
        stored.invites[1].invite = SessionSecret::generate(&mut OsRng).new_invite(&mut OsRng);
        let json = Resume::Host(stored).to_json();
        assert_eq!(
            Resume::from_json(&json).err(),
            Some(ResumeError::Field("invite room"))
        );
    }
}
