"""Examples shown on the OpenAPI page: one of each kind of body a partner sends."""

from __future__ import annotations

from typing import Any

BILL_EXAMPLE: dict[str, Any] = {
    "partner_claim_id": "CLM-2025-000123",
    "client_id": "acme-employers",
    "claim_type": "professional",
    "frequency": "original",
    "line_of_business": "workers_compensation",
    "provider": {
        "npi": "1912301953",
        "tin": "587654321",
        "name": "Ben Kildare Service",
        "taxonomy": "207X00000X",
        "address": {"line1": "234 Seaway St", "city": "Miami", "state": "FL", "zip": "33111"},
    },
    "facility": {"state": "FL", "zip": "33111"},
    "patient": {"first_name": "Ted", "last_name": "Smith", "birth_date": "1973-05-01", "member_id": "JS001"},
    "place_of_service": "11",
    "diagnoses": ["S83.511A", "M25.561"],
    "total_charge": "310.00",
    "lines": [
        {
            "procedure_code": "99214",
            "units": 1,
            "charge": "210.00",
            "service_date": "2025-10-03",
            "diagnosis_pointers": [1, 2],
        },
        {
            "procedure_code": "73560",
            "modifiers": ["RT"],
            "units": 1,
            "charge": "100.00",
            "service_date": "2025-10-03",
            "diagnosis_pointers": [1],
        },
    ],
}

INSTITUTIONAL_EXAMPLE: dict[str, Any] = {
    "partner_claim_id": "UB-77-0042",
    "client_id": "acme-employers",
    "claim_type": "institutional",
    "line_of_business": "workers_compensation",
    "provider": {"npi": "1912301953", "tin": "587654321", "name": "Bayside Hospital"},
    "facility": {"state": "FL", "zip": "33111", "npi": "1912301953", "name": "Bayside Hospital"},
    "type_of_bill": "0111",
    "admission_date": "2025-09-28",
    "discharge_date": "2025-09-30",
    "discharge_status": "01",
    "diagnoses": ["S72.001A"],
    "drg": "536",
    "total_charge": "5400.00",
    "lines": [
        {"revenue_code": "0120", "units": 2, "charge": "4000.00", "service_date": "2025-09-28"},
        {
            "revenue_code": "0320",
            "procedure_code": "73502",
            "units": 1,
            "charge": "1400.00",
            "service_date": "2025-09-29",
        },
    ],
}

X12_EXAMPLE = (
    "ISA*00*          *00*          *ZZ*PARTNER        *ZZ*PARLEY         "
    "*251103*1200*^*00501*000000101*0*P*:~"
    "GS*HC*PARTNER*PARLEY*20251103*1200*101*X*005010X222A2~"
    "ST*837*0001*005010X222A2~"
    "BHT*0019*00*0001*20251103*1200*CH~"
    "NM1*41*2*PARTNER TPA*****46*PARTNER~PER*IC*EDI DESK*TE*3055550100~"
    "NM1*40*2*PARLEY*****46*PARLEY~"
    "HL*1**20*1~PRV*BI*PXC*207X00000X~"
    "NM1*85*2*BEN KILDARE SERVICE*****XX*1912301953~N3*234 SEAWAY ST~N4*MIAMI*FL*33111~REF*EI*587654321~"
    "HL*2*1*22*0~SBR*P*18*******WC~NM1*IL*1*SMITH*TED****MI*JS001~DMG*D8*19730501*M~"
    "NM1*PR*2*ACME EMPLOYERS*****PI*ACME~"
    "CLM*CLM-2025-000123*310***11:B:1*Y*A*Y*Y~HI*ABK:S83511A*ABF:M25561~"
    "LX*1~SV1*HC:99214*210*UN*1***1:2~DTP*472*D8*20251003~"
    "LX*2~SV1*HC:73560:RT*100*UN*1***1~DTP*472*D8*20251003~"
    "SE*23*0001~GE*1*101~IEA*1*000000101~"
)
