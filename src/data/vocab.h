#pragma once
// Word lists for the synthetic leads: Indian cities, localities, names, note phrasing.

#include <array>
#include <string_view>

namespace data::detail {

using SV = std::string_view;

inline constexpr std::array<SV, 8> kReCities = {"Mumbai",    "Pune",    "Bengaluru", "Hyderabad",
                                                "Delhi NCR", "Chennai", "Ahmedabad", "Kolkata"};
// Price of a typical 2BHK apartment, lakh rupees (order of magnitude of 2024-25 listings).
inline constexpr std::array<double, 8> kReCityPrice = {140, 78, 95, 85, 110, 75, 55, 62};
inline constexpr std::array<double, 8> kReCityEffect = {0.0, 0.05, 0.1, 0.1, -0.05, 0.0, 0.05, -0.1};

inline constexpr std::array<std::array<SV, 8>, 8> kReLocalities = {{
    {"Andheri West", "Powai", "Thane West", "Borivali East", "Chembur", "Malad West", "Kharghar",
     "Goregaon East"},
    {"Hinjewadi", "Wakad", "Baner", "Kharadi", "Hadapsar", "Wagholi", "Viman Nagar", "Kothrud"},
    {"Whitefield", "Electronic City", "Sarjapur Road", "HSR Layout", "Hebbal", "Yelahanka",
     "Bannerghatta Road", "Marathahalli"},
    {"Gachibowli", "Kondapur", "Kokapet", "Miyapur", "Kukatpally", "Madhapur", "Tellapur",
     "LB Nagar"},
    {"Sector 65 Gurgaon", "Noida Sector 150", "Dwarka Expressway", "Greater Noida West",
     "Golf Course Extension Road", "Rohini", "Indirapuram", "Saket"},
    {"OMR", "Velachery", "Porur", "Anna Nagar", "Tambaram", "Perungudi", "Sholinganallur",
     "Guduvanchery"},
    {"SG Highway", "Bopal", "Gota", "Satellite", "Prahlad Nagar", "Chandkheda", "Shela",
     "Vastrapur"},
    {"New Town", "Salt Lake", "Rajarhat", "EM Bypass", "Behala", "Howrah", "Tollygunge", "Garia"},
}};
// Locality price index relative to the city's typical price.
inline constexpr std::array<double, 8> kLocalityIndex = {1.35, 1.2, 0.85, 0.95, 1.1, 0.9, 0.75,
                                                         1.0};

inline constexpr std::array<SV, 10> kReSources = {
    "99acres",    "MagicBricks", "Housing.com", "NoBroker", "Facebook Ads",
    "Google Ads", "Website",     "Walk-in",     "Referral", "WhatsApp"};
inline constexpr std::array<double, 10> kReSourceWeight = {0.17, 0.16, 0.13, 0.07, 0.15,
                                                           0.1,  0.08, 0.04, 0.05, 0.05};
inline constexpr std::array<double, 10> kReSourceEffect = {0.0, 0.0, 0.0, -0.15, -0.45,
                                                           -0.2, 0.15, 0.7, 0.6, 0.25};
// Portals resell/share enquiries: a cross-portal duplicate comes from one of these.
inline constexpr std::array<size_t, 4> kPortalSources = {0, 1, 2, 3};

inline constexpr std::array<SV, 8> kPropertyTypes = {
    "Apartment", "Villa",       "Independent House", "Builder Floor",
    "Plot",      "Studio",      "Commercial Shop",   "Office Space"};
inline constexpr std::array<double, 8> kPropertyWeight = {0.58, 0.06, 0.08, 0.08,
                                                          0.07, 0.04, 0.05, 0.04};
inline constexpr std::array<double, 8> kPropertyPriceMult = {1.0, 2.2, 1.6, 1.1,
                                                             0.9, 0.45, 1.2, 1.8};
inline constexpr std::array<double, 8> kPropertyEffect = {0.0, -0.1, 0.0,  0.05,
                                                          -0.2, 0.1, -0.3, -0.25};
inline bool is_residential_with_bhk(size_t type) { return type <= 3 || type == 5; }

inline constexpr std::array<SV, 2> kTransactionTypes = {"Buy", "Rent"};
inline constexpr std::array<SV, 2> kSaleTypes = {"New booking", "Resale"};
inline constexpr std::array<SV, 2> kPurposes = {"Self-use", "Investment"};
inline constexpr std::array<SV, 5> kPossessionPrefs = {"Ready to move", "Within 6 months",
                                                  "Within 1 year", "Under construction OK",
                                                  "Flexible"};
inline constexpr std::array<SV, 9> kCallOutcomes = {
    "Connected - interested", "Callback requested", "Not interested",
    "Busy",                   "No answer",          "Switched off",
    "Invalid number",         "Already purchased",  "Broker"};
inline constexpr std::array<double, 9> kCallEffect = {0.9, 0.25, -1.5, -0.1, -0.35,
                                                      -0.55, -2.8, -2.5, -2.8};
inline constexpr std::array<SV, 6> kStages = {"New",             "Contacted",   "Qualified",
                                              "Site visit done", "Negotiation", "Lost"};
inline constexpr std::array<double, 6> kStageEffect = {-0.3, 0.0, 0.35, 0.5, 0.9, -1.2};

inline constexpr std::array<SV, 40> kFirstNames = {
    "Aarav",   "Vivaan", "Aditya",  "Arjun",   "Rohan",   "Rahul",   "Amit",    "Suresh",
    "Ramesh",  "Vikram", "Karthik", "Srinivas", "Venkatesh", "Harish", "Imran",  "Farhan",
    "Gurpreet", "Harpreet", "Sandeep", "Manoj", "Priya",   "Ananya",  "Sneha",   "Pooja",
    "Divya",   "Lakshmi", "Kavya",  "Meera",   "Neha",    "Shreya",  "Aisha",   "Fatima",
    "Swati",   "Deepa",   "Ritu",   "Nandini", "Sunita",  "Anjali",  "Bhavna",  "Tanvi"};
inline constexpr std::array<SV, 32> kSurnames = {
    "Sharma", "Verma",  "Patel",    "Shah",     "Mehta",   "Desai",   "Joshi",   "Kulkarni",
    "Deshpande", "Patil", "Reddy",  "Rao",      "Naidu",   "Iyer",    "Iyengar", "Nair",
    "Menon",  "Pillai", "Banerjee", "Chatterjee", "Mukherjee", "Das", "Ghosh",   "Singh",
    "Gill",   "Khan",   "Sheikh",   "Qureshi",  "Gupta",   "Agarwal", "Jain",    "Bansal"};
inline constexpr std::array<SV, 6> kEmailDomains = {"gmail.com",   "yahoo.co.in",
                                                    "outlook.com", "rediffmail.com",
                                                    "hotmail.com", "gmail.com"};
inline constexpr std::array<SV, 6> kBanks = {"SBI", "HDFC", "ICICI", "Axis", "LIC HFL", "Kotak"};
inline constexpr std::array<SV, 7> kDays = {"Sunday", "Saturday", "this weekend", "tomorrow",
                                            "Monday", "next week", "today evening"};

// ---- seed profile (the original assignment's /score body) ----
inline constexpr std::array<SV, 9> kSeedCities = {"Mumbai", "Delhi",  "Bangalore",
                                                  "Pune",   "Ahmedabad", "Chandigarh",
                                                  "Indore", "Rajkot", "Nagpur"};
inline constexpr std::array<int, 9> kSeedCityTier = {1, 1, 1, 2, 2, 2, 3, 3, 3};
inline constexpr std::array<double, 9> kSeedCityWeight = {0.18, 0.17, 0.17, 0.11, 0.09,
                                                          0.07, 0.07, 0.07, 0.07};
inline constexpr std::array<SV, 5> kOccupations = {"Salaried", "Self-Employed", "Student",
                                                   "Freelancer", "Unemployed"};
inline constexpr std::array<double, 5> kOccupationWeight = {0.5, 0.2, 0.1, 0.12, 0.08};
inline constexpr std::array<double, 5> kOccupationEffect = {0.25, 0.15, -0.9, -0.2, -1.2};
inline constexpr std::array<SV, 4> kIncome = {"<5L", "5-10L", "10-20L", "20L+"};
inline constexpr std::array<double, 4> kIncomeEffect = {-0.6, 0.0, 0.35, 0.55};
inline constexpr std::array<SV, 4> kEducation = {"Undergrad", "Graduate", "Postgrad", "PhD"};
inline constexpr std::array<double, 4> kEducationWeight = {0.2, 0.45, 0.3, 0.05};
inline constexpr std::array<SV, 5> kReferral = {"Paid Ad", "SEO", "Referral", "Email", "Organic"};
inline constexpr std::array<double, 5> kReferralWeight = {0.3, 0.2, 0.15, 0.1, 0.25};
inline constexpr std::array<double, 5> kReferralEffect = {-0.25, 0.1, 0.6, 0.0, 0.2};
inline constexpr std::array<SV, 3> kDevices = {"Mobile", "Desktop", "Tablet"};
inline constexpr std::array<double, 3> kDeviceWeight = {0.65, 0.28, 0.07};
inline constexpr std::array<SV, 3> kCampaigns = {"CAMP001", "CAMP002", "CAMP003"};
inline constexpr std::array<SV, 3> kCrmTags = {"A", "B", "C"};
inline constexpr std::array<double, 3> kCrmEffect = {0.6, 0.0, -0.6};
inline constexpr std::array<SV, 4> kCompanySize = {"<50", "50-200", "200-1000", "1000+"};
inline constexpr std::array<SV, 5> kIndustry = {"Tech", "Real Estate", "Finance", "Education",
                                                "Healthcare"};

}  // namespace data::detail
