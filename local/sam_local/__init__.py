"""`make sam-local`: `sam local invoke` of every function, offline, in a locally built Lambda-like image.

build_image.py builds the image (a debootstrapped Debian rootfs, `docker import`ed); run_invokes.py starts
what the invocations need and checks their answers. See local/README.md.
"""
