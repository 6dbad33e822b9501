"""The login QR of an account as an image for the operator's page."""

import io

import qrcode
import qrcode.image.svg


def qr_png(payload: str) -> bytes:
    image = qrcode.make(payload, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(payload: str) -> bytes:
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return bytes(image.to_string(encoding="unicode").encode())
