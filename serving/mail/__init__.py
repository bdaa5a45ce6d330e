"""Alert e-mails: the digest a person receives and how it reaches their mailbox."""
