"""DICOM interchange, in one package between the library and the jobs: reading the echo machines' measurement
SRs for labels (`echo_sr`), writing ours (`sr`), what marks an object as ours (`ours`), and the DICOMweb
connection to a PACS (`dicomweb`). The Part-10 check and the reading of cine loops' pixels are in
`cardiacclip.data` (`video_io.is_part10`, `dicom`), with every other frame reader.
"""
