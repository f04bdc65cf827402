"""Outreach: the residents who never ask (the office's not-yet-recorded list, partners' referrals),
the candidates to reach per kelurahan, the operators' call list and its results."""
