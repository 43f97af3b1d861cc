"""Commissions (提成), bonuses (奖金) and promotion criteria (晋升). The incentives helper fills this in."""
