"""Cara-style taxonomy and licences offered in the forms."""

from __future__ import annotations

FIELDS = ("Illustration", "Concept Art", "Character Design", "Environment Design", "Comics", "Animation",
          "Storyboarding", "Game Art", "Book Illustration", "Fine Art", "Graphic Design", "Photography",
          "Pixel Art", "3D Modeling", "Sculpture", "Matte Painting", "Tattoo Design", "Fashion Design",
          "UI/UX", "VFX", "Other")

MEDIUMS = ("Digital 2D", "Digital 3D", "Traditional Drawing", "Traditional Painting", "Traditional Ink",
           "Printmaking", "Photography", "Sculpture", "Mixed Media", "Animation", "Other")

SOFTWARE_SUGGESTIONS = ("Krita", "Procreate", "Photoshop", "Clip Studio Paint", "Blender", "GIMP", "Inkscape",
                        "Aseprite", "ZBrush", "Affinity Photo", "Affinity Designer", "Illustrator",
                        "Substance Painter", "Maya", "Houdini", "Unreal Engine")

LICENSES: dict[str, str] = {
    "all-rights-reserved": "All rights reserved",
    "https://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC BY-SA 4.0",
    "https://creativecommons.org/licenses/by-nd/4.0/": "CC BY-ND 4.0",
    "https://creativecommons.org/licenses/by-nc/4.0/": "CC BY-NC 4.0",
    "https://creativecommons.org/licenses/by-nc-sa/4.0/": "CC BY-NC-SA 4.0",
    "https://creativecommons.org/licenses/by-nc-nd/4.0/": "CC BY-NC-ND 4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0 (public domain)",
}
