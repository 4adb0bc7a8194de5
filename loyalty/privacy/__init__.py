"""Owners' data rights under China's PIPL (个人信息保护法): an owner downloads everything held
about them (`export`, articles 45 and 47), and staff erase an owner on request (`erasure`).

`inventory` is the one list of every table holding data about members, with how the owner
gets it in the export and what erasure does to it; a test walks Piccolo's app registry and
fails when a table tied to members is missing from it.
"""
