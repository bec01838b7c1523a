"""The fixed bank of distractor captions the grounding calibration contrasts a caption with.

Varied everyday audio-visual scenes, each saying what is seen and what is heard, in the length and
style of the summarizer's captions. Changing the bank changes every grounding score: bump
``DISTRACTOR_VERSION`` when it changes (it is recorded with every score).
"""

DISTRACTOR_VERSION = "1"

DISTRACTORS = (
    "A dog runs across a grassy park and barks at a ball.",
    "Heavy rain falls on a city street at night while cars splash through puddles.",
    "A chef chops vegetables on a wooden board in a busy kitchen with sizzling pans.",
    "A crowd cheers in a stadium as a football player scores a goal.",
    "Waves crash onto a sandy beach under a cloudy sky while seagulls call.",
    "A woman plays a grand piano on a dimly lit stage to a quiet audience.",
    "A man speaks into a microphone at a podium in front of a blue banner.",
    "Children laugh and shout on a playground with swings and a slide.",
    "A train passes a railway crossing with its horn blaring and bells ringing.",
    "Birds sing in a green forest as sunlight comes through the leaves.",
    "A drummer plays a fast beat on a drum kit in a small rehearsal room.",
    "A car engine revs on a race track as the car speeds past the camera.",
    "Two people talk quietly at a cafe table with cups of coffee and background chatter.",
    "A cat sits on a windowsill and meows while traffic hums outside.",
    "Fireworks explode in colourful bursts over a river with loud bangs.",
    "A guitarist strums an acoustic guitar and sings beside a campfire.",
    "A news anchor reads the headlines in a bright television studio.",
    "Snow falls on a mountain slope as skiers glide down with a whooshing sound.",
    "A baby cries in a crib while a soft lullaby plays from a toy.",
    "Workers use a jackhammer on a construction site with heavy machinery beeping.",
    "An orchestra performs in a concert hall with violins and a conductor.",
    "A helicopter flies low over a field with loud rotor noise.",
    "A teacher writes on a whiteboard and explains a lesson to students.",
    "Thunder rumbles and lightning flashes over a dark open landscape.",
)
