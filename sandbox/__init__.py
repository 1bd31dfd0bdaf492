"""Stand-ins for the services pbxgram talks to, for tests, benchmarks and the demo.

The Telegram Bot API emulator (:mod:`sandbox.telegram`) and the PBX simulators
(:mod:`sandbox.mango`, :mod:`sandbox.mts`, :mod:`sandbox.mobilon`, :mod:`sandbox.relay`)
import nothing from the product: they speak each protocol as its documents describe.
The demo (:mod:`sandbox.demo`) runs the real bot between them.
"""
