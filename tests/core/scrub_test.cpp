#include <gtest/gtest.h>

#include <string>

#include "core/core.h"

namespace {

struct ScrubCase {
  const char* input;
  const char* expected;
};

// Must scrub: contact details in the shapes brokers' notes and portal exports carry.
constexpr ScrubCase kMustScrub[] = {
    {"call 9820155501 after 6", "call [phone] after 6"},
    {"Call +91 98201 55501", "Call [phone]"},
    {"+91-98201-55501 is his number", "[phone] is his number"},
    {"mob: +919820155501", "mob: [phone]"},
    {"0091 98201 55501", "[phone]"},
    {"09820155501 (wife)", "[phone] (wife)"},
    {"0 98201 55501", "[phone]"},
    {"98201.55501", "[phone]"},
    {"982-015-5501", "[phone]"},
    {"(982) 015 5501", "[phone]"},
    {"91 98201 55501", "[phone]"},
    {"98 20 15 55 01", "[phone]"},
    {"ph9820155501", "ph[phone]"},
    {"98 two 0 1 five 5 5 0 1", "[phone]"},
    {"nine eight two zero one five five five zero one", "[phone]"},
    {"98201 double five 501", "[phone]"},
    {"nau aath do shunya ek paanch paanch paanch shunya ek", "[phone]"},
    {"number 98 do 0 1 55501 hai", "number [phone] hai"},
    {"\xE0\xA5\xAF\xE0\xA5\xAE\xE0\xA5\xA8\xE0\xA5\xA6\xE0\xA5\xA7\xE0\xA5\xAB\xE0\xA5\xAB"
     "\xE0\xA5\xAB\xE0\xA5\xA6\xE0\xA5\xA7 \xE0\xA4\xAA\xE0\xA4\xB0 \xE0\xA4\xAB\xE0\xA5\x8B"
     "\xE0\xA4\xA8 \xE0\xA4\x95\xE0\xA4\xB0\xE0\xA5\x87\xE0\xA4\x82",
     "[phone] \xE0\xA4\xAA\xE0\xA4\xB0 \xE0\xA4\xAB\xE0\xA5\x8B\xE0\xA4\xA8 "
     "\xE0\xA4\x95\xE0\xA4\xB0\xE0\xA5\x87\xE0\xA4\x82"},  // Devanagari digits, "पर फोन करें"
    {"\xE0\xA5\xAF\xE0\xA5\xAE\xE0\xA5\xA8\xE0\xA5\xA6\xE0\xA5\xA7 55501", "[phone]"},  // mixed
    {"office 022-2345 6789", "office [phone]"},
    {"(022) 2345-6789", "[phone]"},
    {"landline 2345 6789", "landline [phone]"},
    {"UK no +44 20 7946 0958", "UK no [phone]"},
    {"US cousin +1 (415) 555-2671", "US cousin [phone]"},
    {"toll free 1800 123 4567", "toll free [phone]"},
    {"wa 98201 55501, prefers evening", "wa [phone], prefers evening"},
    {"Hi,9820155501,pls call", "Hi,[phone],pls call"},
    {"rahul.sharma92@gmail.com", "[email]"},
    {"mail me at Priya_K+flats@company.co.in today", "mail me at [email] today"},
    {"rahul at gmail dot com", "[email]"},
    {"rahul [at] yahoo [dot] co [dot] in", "[email]"},
    {"rahul(at)outlook(dot)com", "[email]"},
    {"priya at the rate gmail dot com", "[email]"},
    {"priya @ gmail . com", "[email]"},
    {"sharma.r AT rediffmail DOT com", "[email]"},
    {"id: rahul@gmail", "id: [email]"},
    {"PAN ABCPK1234F attached", "PAN [pan] attached"},
    {"pan abcpk1234f", "pan [pan]"},
    {"Aadhaar 2345 6789 0123", "Aadhaar [aadhaar]"},
    {"aadhar no 2345-6789-0123", "aadhar no [aadhaar]"},
    {"234567890123", "[aadhaar]"},
    {"call 98201 55501 or rahul@gmail.com, PAN ABCPK1234F", "call [phone] or [email], PAN [pan]"},
    {"Budget 90L, call 9820155501 for 3 BHK", "Budget 90L, call [phone] for 3 BHK"},
    {"Sector 62 9820155501", "Sector 62 [phone]"},
    {"visit on 15-03-2024 call 98201-55501", "visit on 15-03-2024 call [phone]"},
    {"10:30 9820155501", "10:30 [phone]"},
    {"Alternate no. 98201 55501.", "Alternate no. [phone]."},
    {"Mera number 9820155501 hai, WhatsApp karo.", "Mera number [phone] hai, WhatsApp karo."},
    {"Call on 09820155501 after 6 pm.", "Call on [phone] after 6 pm."},
    {"contact no. 2345 6789", "contact no. [phone]"},
    {"Mobile number: 98201 55501", "Mobile number: [phone]"},
};

// Must keep: ordinary numbers in real-estate notes.
constexpr const char* kMustKeep[] = {
    "Budget 1.2 cr, wants 3 BHK",
    "90 lakh budget",
    "\xE2\x82\xB9"
    "1,20,00,000 all inclusive",
    "1,20,00,000",
    "12000000",
    "Possession by 2024",
    "Sector 62, Noida",
    "Pincode 400050, Bandra West",
    "Site visit on 15-03-2024 at 10:30",
    "site visit 2024-03-15 11:00",
    "3 BHK 1450 sq ft",
    "2 visits, 3 calls, 5 whatsapp replies",
    "Tower 4, flat 1203",
    "80 lakh - 1 crore",
    "Rs. 85 Lac",
    "1-1.5 Cr",
    "FY 2023-24",
    "from 2019 - 2024 - 2025",
    "meet at site office",
    "meet at Phoenix mall dot",
    "Wants one or two parking slots",
    "CAMP001 lead, score 0.82",
    "Emi 45,000 per month",
    "Carpet 650-700 sqft",
    "Lives in 400 050",
    "\xE0\xA4\xAC\xE0\xA4\x9C\xE0\xA4\x9F \xE0\xA5\xAF\xE0\xA5\xA6 \xE0\xA4\xB2\xE0\xA4\xBE"
    "\xE0\xA4\x96",  // "बजट ९० लाख"
    "RERA P51800012345",
    "price 7500 per sqft",
    "Ready to move, 2nd floor",
    "Comparing 2-3 projects nearby.",
    "Booking no. 12345678 confirmed",
    "Ref no 2024031",
    "CRM2345678901 synced",
    "Zoho id 5432100000001234567",
    "Order 123456789012345",
    "Call back after 7 pm.",
    "Shaam 7 baje call karna.",
    "Do din mein 2 site visits, ek baar call kiya",
    "Char log aayenge, teen BHK chahiye",
    "Needs 2 BHK on rent near Powai, budget 45k per month.",
    "Looking for 3 BHK in Baner, budget 1.2 Cr.",
    "",
};

TEST(Scrub, RemovesContactDetails) {
  for (const auto& c : kMustScrub) {
    EXPECT_EQ(core::scrub_contact_details(c.input), c.expected) << "input: " << c.input;
  }
}

TEST(Scrub, KeepsOrdinaryNumbers) {
  for (const char* text : kMustKeep) {
    EXPECT_EQ(core::scrub_contact_details(text), text);
  }
}

// Unicode separators inside a phone number, Aadhaar or PAN: each must join digit groups like
// an ASCII space or hyphen does (copy-pasted notes and phone keyboards insert them).
struct Separator {
  const char* name;
  const char* utf8;
};
constexpr Separator kUnicodeSeparators[] = {
    {"U+2010 hyphen", "\xE2\x80\x90"},
    {"U+2011 non-breaking hyphen", "\xE2\x80\x91"},
    {"U+2012 figure dash", "\xE2\x80\x92"},
    {"U+2014 em dash", "\xE2\x80\x94"},
    {"U+2015 horizontal bar", "\xE2\x80\x95"},
    {"U+2212 minus sign", "\xE2\x88\x92"},
    {"U+FE63 small hyphen-minus", "\xEF\xB9\xA3"},
    {"U+FF0D fullwidth hyphen-minus", "\xEF\xBC\x8D"},
    {"U+2007 figure space", "\xE2\x80\x87"},
    {"U+2009 thin space", "\xE2\x80\x89"},
    {"U+202F narrow no-break space", "\xE2\x80\xAF"},
    {"U+205F medium mathematical space", "\xE2\x81\x9F"},
    {"U+3000 ideographic space", "\xE3\x80\x80"},
    {"U+00AD soft hyphen", "\xC2\xAD"},
    {"U+200B zero width space", "\xE2\x80\x8B"},
    {"U+200C zero width non-joiner", "\xE2\x80\x8C"},
    {"U+200D zero width joiner", "\xE2\x80\x8D"},
    {"U+200E left-to-right mark", "\xE2\x80\x8E"},
    {"U+200F right-to-left mark", "\xE2\x80\x8F"},
    {"U+202A left-to-right embedding", "\xE2\x80\xAA"},
    {"U+2060 word joiner", "\xE2\x81\xA0"},
    {"U+2066 left-to-right isolate", "\xE2\x81\xA6"},
    {"U+FEFF zero width no-break space", "\xEF\xBB\xBF"},
    {"slash", "/"},
    {"underscore", "_"},
};

TEST(Scrub, UnicodeSeparatorsJoinPhoneNumbers) {
  for (const auto& sep : kUnicodeSeparators) {
    const std::string x = sep.utf8;
    EXPECT_EQ(core::scrub_contact_details("call 98201" + x + "55501 today"), "call [phone] today")
        << sep.name;
    EXPECT_EQ(core::scrub_contact_details("+91" + x + "98201" + x + "55501"), "[phone]")
        << sep.name;
    EXPECT_EQ(core::scrub_contact_details("office 022" + x + "2345" + x + "6789"),
              "office [phone]")
        << sep.name;
    EXPECT_EQ(core::scrub_contact_details("98" + x + "20" + x + "15" + x + "55" + x + "01"),
              "[phone]")
        << sep.name;
  }
}

TEST(Scrub, UnicodeSeparatorsJoinAadhaar) {
  for (const auto& sep : kUnicodeSeparators) {
    const std::string x = sep.utf8;
    EXPECT_EQ(core::scrub_contact_details("Aadhaar 2345" + x + "6789" + x + "0123"),
              "Aadhaar [aadhaar]")
        << sep.name;
  }
}

TEST(Scrub, InvisibleCharactersInsideADigitRunAreIgnored) {
  // Zero-width characters leave the number looking whole on screen: "23456789" + ZWSP + "0123"
  // reads as one 12-digit Aadhaar, and any number of them may be stacked.
  EXPECT_EQ(core::scrub_contact_details("aadhaar 23456789\xE2\x80\x8B" "0123"),
            "aadhaar [aadhaar]");
  EXPECT_EQ(core::scrub_contact_details(
                "98201\xE2\x80\x8B\xE2\x80\x8B\xE2\x80\x8E\xC2\xAD\xE2\x80\x8B\xE2\x80\x8B"
                "55501"),
            "[phone]");
  EXPECT_EQ(core::scrub_contact_details("ping 9\xE2\x80\x8B" "820155501 now"), "ping [phone] now");
}

TEST(Scrub, PanWithSeparators) {
  for (const char* text :
       {"PAN ABCPK-1234-F", "PAN ABCPK 1234 F", "PAN abcpk-1234-f", "PAN ABCPK 1234F",
        "PAN ABCPK-1234F", "PAN ABCPK\xE2\x80\x91" "1234\xE2\x80\x91" "F",
        "PAN ABCPK\xC2\xA0" "1234\xC2\xA0" "F", "PAN ABCPK\xE2\x80\x8B" "1234F",
        "PAN ABCPK_1234_F", "PAN ABCPK/1234/F"}) {
    EXPECT_EQ(core::scrub_contact_details(text), "PAN [pan]") << text;
  }
  EXPECT_EQ(core::scrub_contact_details("pan ABCPK-1234-F, call 98201 55501"),
            "pan [pan], call [phone]");
  EXPECT_TRUE(core::looks_like_pii("ABCPK-1234-F"));
  EXPECT_TRUE(core::looks_like_pii("ABCPK 1234 F"));
}

TEST(Scrub, SeparatorsKeepOrdinaryNumbers) {
  for (const char* text : {
           "Site visit on 15/03/2024",
           "call on 15/03/2024",
           "visit 15\xE2\x80\x91" "03\xE2\x80\x91" "2024",
           "rent 25000/30000 per month",
           "budget 75000/80000",
           "Flat 12/345, Andheri",
           "2/3 BHK options",
           "1450/1650 sq ft",
           "FY 2023/24",
           "Carpet 650\xE2\x80\x94" "700 sqft",
           "1\xE2\x80\xAF" "20\xE2\x80\xAF" "00\xE2\x80\xAF" "000 all inclusive",
           "Tower 1203 B",
           "Block 1203-A",
           "TOWER 1203 B",
           "Lodha 2024 A",
           "SUPER 1234 X",
           "CAMP_001 lead",
           "LEAD_2024_00042",
       }) {
    EXPECT_EQ(core::scrub_contact_details(text), text);
  }
  for (const char* id : {"LEAD_2024_00042", "CRM_77812", "2024/03/15/0001"}) {
    EXPECT_FALSE(core::looks_like_pii(id)) << id;
  }
}

TEST(Scrub, IsIdempotent) {
  for (const auto& c : kMustScrub) {
    const std::string once = core::scrub_contact_details(c.input);
    EXPECT_EQ(core::scrub_contact_details(once), once) << c.input;
  }
}

TEST(Scrub, SurvivesArbitraryBytes) {
  std::string s;
  for (int i = 0; i < 4096; ++i) s.push_back(static_cast<char>((i * 131 + 7) % 256));
  for (size_t cut = 0; cut < s.size(); cut += 97) {
    (void)core::scrub_contact_details(std::string_view(s).substr(cut));
  }
  // Truncated multi-byte digits at the end.
  (void)core::scrub_contact_details("\xE0\xA5");
  (void)core::scrub_contact_details("98201 \xE0");
}

TEST(LooksLikePii, DetectsContactLeadIds) {
  for (const char* id :
       {"9820155501", "+91 98201 55501", "+919820155501", "09820155501", "rahul@gmail.com",
        "ABCPK1234F", "2345 6789 0123", "234567890123", "lead-9820155501", "0091-98201-55501"}) {
    EXPECT_TRUE(core::looks_like_pii(id)) << id;
  }
}

TEST(LooksLikePii, AcceptsOpaqueLeadIds) {
  for (const char* id :
       {"L-000123", "LEAD-2024-00042", "a3f9c2e1-7b4d-4c1e-9f2a-0d5e8b7c6a11", "12345", "CRM_77812",
        "4000123456", "zoho_5432100000001234567", "2024031500012", ""}) {
    EXPECT_FALSE(core::looks_like_pii(id)) << id;
  }
}

TEST(LooksLikePii, AcceptsLeadIdPseudonyms) {
  // The shape `serve --pseudonymise-lead-ids` gives a PII-looking id ("p_" + 32 lowercase hex):
  // about 2.6 % of them hold a mobile- or Aadhaar-shaped digit run, and must still be usable
  // with /v1/erase, the record route and `leadscore erase`, and not be pseudonymised again.
  for (const char* id : {"p_b829944107970f3d3dd1430338e5b76f", "p_e670814c9670604184b27a2ffdf4ab18",
                         "p_1ebb6168e913897520861d0eab86fdfa"}) {
    EXPECT_FALSE(core::looks_like_pii(id)) << id;
  }
  // Not the pseudonym shape: still checked.
  for (const char* id : {"p_9820155501", "p_B829944107970F3D3DD1430338E5B76F",
                         "p_b829944107970f3d3dd1430338e5b76f0", "q_b829944107970f3d3dd1430338e5b76f"}) {
    EXPECT_TRUE(core::looks_like_pii(id)) << id;
  }
}

TEST(LeadPrivacyScrub, NotesAreScrubbedWhileParsing) {
  auto schema = *core::parse_schema(R"({"name":"t","version":1,"fields":[
    {"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"},
    {"name":"notes","type":"text","role":"text-for-rerank"}]})");
  auto lead = core::parse_lead_json(
      *schema, R"({"id":"L1","notes":"Call +91 98765 01234 or zq.canary@example.org; 3 BHK"})");
  ASSERT_TRUE(lead) << lead.error().message;
  ASSERT_EQ(lead->texts.size(), 1u);
  EXPECT_EQ(lead->texts[0].second, "Call [phone] or [email]; 3 BHK");
}

TEST(LeadPrivacyScrub, PiiLeadIdIsRefusedOrPseudonymised) {
  auto schema = *core::parse_schema(R"({"name":"t","version":1,"fields":[
    {"name":"id","type":"id","role":"id"},{"name":"x","type":"number","role":"feature"}]})");
  auto r = core::parse_lead_json(*schema, R"({"id":"+91 98765 01234","x":1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "lead_id_looks_like_pii");
  EXPECT_EQ(r.error().message.find("98765"), std::string::npos);
  core::ParseOptions options;
  options.pseudonymise_lead_id = [](std::string_view) { return std::string("pseudo-1"); };
  auto p = core::parse_lead_json(*schema, R"({"id":"+91 98765 01234","x":1})", options);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->id, "pseudo-1");
}

}  // namespace
