use super::*;

#[test]
fn the_canonical_encoding_is_length_prefixed_so_fields_cannot_bleed() {
    let a = ChainRecord {
        actor: "ab".into(),
        action: "c".into(),
        ..ChainRecord::default()
    };
    let b = ChainRecord {
        actor: "a".into(),
        action: "bc".into(),
        ..ChainRecord::default()
    };
    assert_ne!(canonical(&a), canonical(&b));
    let o = origin("organizations/x");
    assert_ne!(
        entry_hash(&o, 1, &ZERO_HASH, &a),
        entry_hash(&o, 2, &ZERO_HASH, &a)
    );
    assert_ne!(
        entry_hash(&o, 1, &ZERO_HASH, &a),
        entry_hash(&origin("organizations/y"), 1, &ZERO_HASH, &a)
    );
}

#[test]
fn a_checkpoint_verifies_under_its_key_and_not_under_another() {
    let (signer, _) = Signer::generate().unwrap();
    let (other, _) = Signer::generate().unwrap();
    let cp = signer.sign(
        "mynafleet-audit/organizations/x",
        3,
        [7; 32],
        1_700_000_000_000_000,
    );
    let ring = KeyRing(vec![signer.public_key().clone()]);
    assert_eq!(cp.verify(&ring), Ok(()));
    let forged = other.sign(&cp.origin, cp.size, cp.head, cp.time);
    assert!(matches!(
        forged.verify(&ring),
        Err(CheckpointError::UnknownKey(_))
    ));
    let mut changed = cp.clone();
    changed.size = 4;
    assert!(matches!(
        changed.verify(&ring),
        Err(CheckpointError::BadSignature(_))
    ));
    let line = signer.public_key().to_line();
    assert_eq!(
        PublicKey::parse_line(&line).as_ref(),
        Some(signer.public_key())
    );
}
