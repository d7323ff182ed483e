use super::*;

#[test]
fn keyspace_flags_are_merged_not_replaced() {
    assert_eq!(merged_flags(""), "Ex");
    assert_eq!(merged_flags("Kg"), "KgEx");
    assert_eq!(merged_flags("KEA"), "KEA");
    assert_eq!(merged_flags("Ex"), "Ex");
}

#[test]
fn ttls_are_clamped() {
    assert_eq!(ttl_ms(Duration::ZERO), 1);
    assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
}
