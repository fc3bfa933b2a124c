//! OQS XML (DOMAIN.md §3.2): results parsed by element name into
//! `eligibility.v1.QualificationResult`, requests written, in UTF-8 or Shift_JIS.
