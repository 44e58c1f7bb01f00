"""From PACS to report: DICOMweb in, a DICOM SR with the EF out (`cardiacclip pacs pull|push|run`,
`predict --write-sr`). By concern:

    client    the DICOMweb connection: credentials (never from the command line), TLS, retries with backoff
    pull      QIDO-RS to find studies, WADO-RS to fetch their ultrasound loops and echo SRs, resumable
    push      STOW-RS of our SRs (idempotent: the same UIDs on every run)
    run       pull -> predict by study -> SRs -> push, in one resumable command

Our SR itself (a TID 1500 Measurement Report, highdicom) is `cardiacclip.dicom.sr`, which `predict --write-sr`
uses too.

The pulled folder and the SRs hold patient data (PHI): they are written only where the user points.
"""
