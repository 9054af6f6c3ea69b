"""Counts of the network for admins and coordinators: members by region and district."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.refusals import NotAllowed
from bot.regions import Regions
from bot.roles.access import Caller, require_coordinator
from storage.db import Storage
from storage.roles import ALL_REGIONS


@dataclass(frozen=True)
class RegionLine:
    code: str
    active: int
    unreachable: int


@dataclass(frozen=True)
class DistrictLine:
    code: str
    active: int
    unreachable: int
    regions: list[RegionLine] = field(default_factory=list)


@dataclass(frozen=True)
class MembersOverview:
    districts: list[DistrictLine]
    active: int
    unreachable: int


async def members_overview(storage: Storage, regions: Regions, caller: Caller) -> MembersOverview:
    """Active/unreachable members per region, grouped by district; coordinators see theirs."""
    require_coordinator(caller)
    counts = {c.region_code: c for c in await storage.members.counts_by_region()}
    districts: list[DistrictLine] = []
    for district in regions.districts:
        lines = [
            RegionLine(r.code, counts[r.code].active, counts[r.code].unreachable)
            for r in regions.in_district(district.code)
            if r.code in counts and caller.coordinates(r.code)
        ]
        if lines:
            districts.append(
                DistrictLine(
                    district.code,
                    sum(line.active for line in lines),
                    sum(line.unreachable for line in lines),
                    lines,
                )
            )
    return MembersOverview(
        districts,
        sum(d.active for d in districts),
        sum(d.unreachable for d in districts),
    )


@dataclass(frozen=True)
class NetworkStats:
    active: int
    unreachable: int
    erased: int
    new_last_30_days: int
    regions_with_members: int
    regions_total: int
    regional_coordinators: int
    federal_coordinators: int
    regions_without_coordinator: list[str]
    top_topics: list[tuple[str, int]]


async def network_stats(
    storage: Storage, regions: Regions, caller: Caller, now: datetime
) -> NetworkStats:
    if not caller.is_admin:
        raise NotAllowed("denied.admin_only")
    totals = await storage.members.totals()
    counts = await storage.members.counts_by_region()
    coordinators = await storage.roles.coordinators()
    covered = {c.role.region_code for c in coordinators}
    with_members = [c.region_code for c in counts if c.active > 0]
    federal = sum(1 for c in coordinators if c.role.region_code == ALL_REGIONS)
    return NetworkStats(
        active=totals.get("active", 0),
        unreachable=totals.get("unreachable", 0),
        erased=totals.get("erased", 0),
        new_last_30_days=await storage.members.registered_since(now - timedelta(days=30)),
        regions_with_members=len(with_members),
        regions_total=len(regions.regions),
        regional_coordinators=len(coordinators) - federal,
        federal_coordinators=federal,
        regions_without_coordinator=[
            code for code in with_members if code not in covered and not federal
        ],
        top_topics=list((await storage.members.topic_counts()).items())[:5],
    )
