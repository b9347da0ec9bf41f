"""Ask an X11 window to close, as a window manager's close button does (``WM_DELETE_WINDOW``).

Usage: ``python3 packaging/x11_close.py WINDOW_ID`` (decimal or 0x hex, e.g. from ``xdotool search``).

Xvfb runs no window manager and ``xdotool windowclose`` destroys the window instead of asking the
application, so the smoke test sends the ``WM_PROTOCOLS`` client message itself through libX11
(ctypes; standard library only, any Python 3).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


CLIENT_MESSAGE = 33
NO_EVENT_MASK = 0
CURRENT_TIME = 0


def close_window(window: int) -> None:
    """Send ``WM_DELETE_WINDOW`` to ``window`` on ``$DISPLAY``."""
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    x11 = ctypes.CDLL(name)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    if not display:
        raise SystemExit("x11_close: cannot open the display (is DISPLAY set?)")
    try:
        event = _XEvent()
        event.xclient.type = CLIENT_MESSAGE
        event.xclient.window = window
        event.xclient.message_type = x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        event.xclient.data[1] = CURRENT_TIME
        if not x11.XSendEvent(display, window, 0, NO_EVENT_MASK, ctypes.byref(event)):
            raise SystemExit(f"x11_close: XSendEvent to window {window:#x} failed")
        x11.XFlush(display)
    finally:
        x11.XCloseDisplay(display)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    close_window(int(sys.argv[1], 0))
