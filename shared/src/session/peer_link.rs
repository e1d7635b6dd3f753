//! Guest to guest: the counsellor's introduction and the pair's
//! confirmation, which give two guests their own channel.
//!
//! Spec: docs/PROTOCOL.md, "Groups".

use super::*;

impl Session {
    /// Guest: the host introduces another guest. Derive the pair's channel
    /// and send our confirmation to that guest.
    pub(super) fn on_introduce(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        signal: &Signal,
    ) -> Vec<Effect> {
        let room = self.room;
        let intro = match Introduction::from_signal(signal) {
            Ok(intro) => intro,
            Err(error) => return Self::tampered(from, error),
        };
        let Some(peer_member) = intro.peer.relay else {
            return Self::tampered(from, "introduction without the peer's relay address");
        };
        // The host reloaded and introduces again a pair that still holds a
        // working channel: keep it (the peer does the same).
        if self
            .peers
            .get(&peer_member)
            .is_some_and(|p| p.participant == intro.peer.id)
        {
            return Vec::new();
        }
        let (link, confirm) = match PeerLink::start(&self.keypair, &room, &intro) {
            Ok(started) => started,
            Err(error) => return Self::tampered(from, error),
        };
        let mut effects = vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(peer_member),
            payload: Blob(confirm),
        })];
        let Role::Guest(guest) = &mut self.role else {
            return effects;
        };
        guest.links.insert(peer_member, (link, intro));
        let early = guest
            .early_confirms
            .remove(&peer_member)
            .unwrap_or_default();
        for message in early {
            // Until one of them confirms the link (a forged one leaves it).
            if !matches!(&self.role, Role::Guest(g) if g.links.contains_key(&peer_member)) {
                break;
            }
            effects.extend(self.on_peer_confirm(rng, peer_member, message));
        }
        effects
    }

    /// Guest: another guest's confirmation of our pair channel.
    pub(super) fn on_peer_confirm(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        message: Vec<u8>,
    ) -> Vec<Effect> {
        let own = self.keypair.id();
        let Role::Guest(guest) = &mut self.role else {
            return Self::tampered(from, "peer confirmation to the host");
        };
        let Some((link, intro)) = guest.links.remove(&from) else {
            // The introduction may still be on its way (another sender, so no ordering).
            let known = guest.early_confirms.contains_key(&from);
            if known || guest.early_confirms.len() < crate::signal::MAX_MEMBERS {
                let kept = guest.early_confirms.get_or_insert_with(from, Vec::new);
                if kept.len() < 2 {
                    kept.push(message);
                }
            }
            return Vec::new();
        };
        if let Err(error) = link.check_confirm(&message) {
            // A forged confirmation (early or not) leaves the link waiting
            // for the genuine one.
            guest.links.insert(from, (link, intro));
            return Self::tampered(from, error);
        }
        match link.on_confirm(&message) {
            Ok(channel) => {
                let is_offerer = own.as_bytes() < intro.peer.id.as_bytes();
                // A stale channel with this seat (the peer reloaded) goes first.
                let mut effects = self.forget_peer(rng, from);
                let renewed = !effects.is_empty();
                effects.extend(self.add_peer(
                    rng,
                    from,
                    channel,
                    None,
                    intro.peer.name.clone(),
                    (is_offerer, renewed),
                ));
                effects
            }
            Err(error) => Self::tampered(from, error),
        }
    }
}
