"""Prediction on new videos (AVI, MP4, DICOM)."""
