"""PBX providers behind one seam (:mod:`bot.pbx.base`)."""
